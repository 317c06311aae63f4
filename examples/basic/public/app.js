// @ts-check
// The page's script: the vanilla TanStack Realtime client, no framework.
import { createRealtimeClient, getPresence } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'

const adjectives = ['Swift', 'Calm', 'Bright', 'Brave', 'Quiet', 'Lucky', 'Witty', 'Sunny']
const animals = ['Otter', 'Falcon', 'Panda', 'Lynx', 'Koala', 'Heron', 'Fox', 'Whale']
const pick = (/** @type {string[]} */ list) => list[Math.floor(Math.random() * list.length)]
// One name per tab (sessionStorage is per tab), kept across reloads.
const name = sessionStorage.getItem('name') ?? `${pick(adjectives)} ${pick(animals)}`
sessionStorage.setItem('name', name)
const colorOf = (/** @type {string} */ text) =>
  `hsl(${[...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7)} 70% 45%)`

const client = createRealtimeClient({
  // No url: derived from window.location. The name travels as the `token` query parameter.
  transport: nodeTransport({ getAuthToken: () => name }),
})

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id))
const status = byId('status')
client.status.subscribe(() => {
  const value = client.status.getSnapshot()
  status.textContent = value
  status.dataset.status = value
})

const room = /** @type {const} */ (['chat', { roomId: 'lobby' }])
const messages = byId('messages')
client.subscribe(room, (/** @type {any} */ message) => {
  const item = document.createElement('li')
  const who = document.createElement('span')
  who.className = 'who'
  who.style.color = colorOf(message.from)
  who.textContent = message.from
  item.append(who, String(message.text))
  messages.append(item)
  messages.scrollTop = messages.scrollHeight
})

const form = /** @type {HTMLFormElement} */ (byId('composer'))
const input = /** @type {HTMLInputElement} */ (byId('text'))
form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const text = input.value.trim()
  if (!text) return
  input.value = ''
  try {
    await client.publish(room, { from: name, text })
  } catch (error) {
    const item = document.createElement('li')
    item.className = 'error'
    item.textContent = `Not sent: ${/** @type {Error} */ (error).message}`
    messages.append(item)
  }
})

const presence = getPresence(client, room)
presence.enter({ name })
const online = byId('online')
presence.subscribe(() => {
  const { self, others } = presence.getSnapshot()
  online.replaceChildren(
    ...[...(self ? [self] : []), ...others].map((member) => {
      const item = document.createElement('li')
      const dot = document.createElement('span')
      dot.className = 'dot'
      dot.style.background = colorOf(String(member.state.name))
      item.append(dot, `${member.state.name}${member === self ? ' (you)' : ''}`)
      return item
    }),
  )
})
