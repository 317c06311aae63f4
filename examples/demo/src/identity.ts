// Each browser tab is its own user: a name picked at first visit, kept per tab (sessionStorage)
// so a reload keeps it and a second tab gets another one.
const adjectives =
  'Swift Calm Bright Brave Quiet Lucky Witty Sunny Bold Kind Eager Gentle Jolly Nimble Proud Clever'.split(' ')
const animals = 'Otter Falcon Panda Lynx Koala Heron Fox Whale Badger Robin Moose Bison Crane Gecko Lemur Puffin'.split(
  ' ',
)
const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)] ?? ''

export const userName: string = (() => {
  const saved = sessionStorage.getItem('demo-name')
  if (saved) return saved
  const name = `${pick(adjectives)} ${pick(animals)}`
  sessionStorage.setItem('demo-name', name)
  return name
})()

/** A stable colour per name. */
export function colorOf(name: string): string {
  let hash = 7
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 360
  return `hsl(${hash} 70% 45%)`
}
