/**
 * `@tanstack/db` is an optional peer dependency of `@tanstack/realtime`: apps that only use messaging and
 * presence do not install it. The live-collection declarations import its types, which would fail such an
 * app's type check (TS2307, with `skipLibCheck: false`). After `tsc`, each such import in the emitted
 * declarations gets a `@ts-ignore`, so without `@tanstack/db` those types are `any`, and with it they are
 * exact. Idempotent; run by `npm run build`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const OPTIONAL = ['@tanstack/db']
const MARK = '// @ts-ignore -- optional peer dependency: without it these types are any'
const root = new URL('../packages/realtime/dist/', import.meta.url).pathname

let patched = 0
for (const entry of readdirSync(root, { recursive: true })) {
  const file = join(root, String(entry))
  if (!file.endsWith('.d.ts')) continue
  const lines = readFileSync(file, 'utf8').split('\n')
  /** @type {string[]} */
  const out = []
  for (const line of lines) {
    const optional = OPTIONAL.some((name) => line.endsWith(` from '${name}';`) || line.endsWith(` from "${name}";`))
    if (optional && out.at(-1) !== MARK) {
      out.push(MARK)
      patched++
    }
    out.push(line)
  }
  if (out.length !== lines.length) writeFileSync(file, out.join('\n'))
}
if (patched > 0) console.log(`Marked ${patched} optional-peer type import(s) in @tanstack/realtime's declarations.`)
