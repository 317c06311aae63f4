// @ts-check
/**
 * `node bench/profile-top.js <file.cpuprofile> [count]`: the functions with the most self time in
 * a V8 CPU profile (as written by `node --cpu-prof`, or `npm run bench -- --profile`, which
 * profiles every server into bench/results/profiles/).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * @param {string} file
 * @param {number} count
 */
export function topFunctions(file, count = 25) {
  /** @type {{nodes: Array<{id: number, callFrame: {functionName: string, url: string, lineNumber: number}}>, samples: number[], timeDeltas: number[]}} */
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  /** @type {Map<number, string>} */
  const names = new Map()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url
      ? `${url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/packages\//, 'packages/')}:${lineNumber + 1}`
      : ''
    names.set(node.id, `${functionName || '(anonymous)'} ${where}`.trim())
  }
  /** @type {Map<string, number>} */
  const self = new Map()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const name = names.get(id) ?? '?'
    self.set(name, (self.get(name) ?? 0) + dt)
    total += dt
  })
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: us / 1000, pct: (us / total) * 100 }))
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith('profile-top.js')) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: node bench/profile-top.js <file.cpuprofile> [count]')
    process.exit(2)
  }
  for (const row of topFunctions(file, Number(process.argv[3] ?? 25))) {
    console.log(`${row.pct.toFixed(1).padStart(5)} %  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`)
  }
}
