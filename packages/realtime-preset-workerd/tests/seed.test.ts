import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  createRealtimeClient,
  ForbiddenError,
  getPresence,
  type RealtimeClient,
  serializeChannelKey,
} from '@tanstack/realtime'
import { workerdTransport } from '@tanstack/realtime-preset-workerd'
import { afterEach, expect, test } from 'vitest'
import { experimental_readRawConfig, unstable_getMiniflareWorkerOptions } from 'wrangler'
import { WebSocket } from 'ws'
import { eventually, upgradeStatus } from '../../realtime/tests/support/helpers.js'
import { bundleWorker, httpRequest, startWorkerd } from './support/workerd.js'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const read = (path: string) => readFileSync(here(path), 'utf8')
const wranglerToml = here('../example/wrangler.toml')

/** The Workers section of a README: from its heading to the next heading of the same level. */
function workersSection(markdown: string, heading: string): string {
  const start = markdown.indexOf(heading)
  expect(start, heading).toBeGreaterThanOrEqual(0)
  const level = heading.slice(0, heading.indexOf(' ') + 1)
  const end = markdown.indexOf(`\n${level}`, start + heading.length)
  return markdown.slice(start, end === -1 ? undefined : end)
}

const blocks = (markdown: string, lang: string) =>
  [...markdown.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) => match[1] ?? '')

let stop: (() => Promise<void>) | undefined
const clients: RealtimeClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect()
  await stop?.()
  stop = undefined
})

/** Starts a Worker entry in workerd with the bindings of the example's wrangler.toml. */
async function startFromWranglerToml(entry: string) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(wranglerToml)
  const worker = await startWorkerd(await bundleWorker(entry), {
    compatibilityDate: workerOptions.compatibilityDate,
    durableObjects: workerOptions.durableObjects,
    bindings: { AUTH_SECRET: 's3cret' },
  })
  stop = () => worker.mf.dispose()
  const client = (token: string | null) => {
    const made = createRealtimeClient({
      transport: workerdTransport({ url: worker.url, getAuthToken: () => token, WebSocket: WebSocket as never }),
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      requestTimeoutMs: 3000,
    })
    clients.push(made)
    return made
  }
  return { ...worker, http: `http://127.0.0.1:${worker.port}`, client }
}

test('every Workers snippet of the seed and the README is in a file this suite runs, verbatim', () => {
  const sources = [read('fixtures/seed-worker.ts'), read('fixtures/seed-client.ts')]
  const seed = workersSection(read('../../../docs/seed.md'), '## `@tanstack/realtime-preset-workerd`')
  const readme = workersSection(read('../../../README.md'), '## Cloudflare Workers')
  expect(blocks(seed, 'ts')).toHaveLength(3)
  for (const block of [...blocks(seed, 'ts'), ...blocks(readme, 'ts')]) {
    expect(
      sources.some((source) => source.includes(block)),
      block,
    ).toBe(true)
  }
  // The README's and the Workers guide's wrangler.toml are the example Worker's, complete.
  const tomls = [...blocks(readme, 'toml'), ...blocks(read('../../../docs/workerd.md'), 'toml')]
  expect(tomls).toHaveLength(2)
  for (const block of tomls) expect(read('../example/wrangler.toml')).toContain(block)
})

test("the README's wrangler.toml has every setting of the seed's partial one", () => {
  const dir = mkdtempSync(join(tmpdir(), 'realtime-toml-'))
  /** The settings wrangler reads from a wrangler.toml. */
  const parse = (toml: string) => {
    writeFileSync(join(dir, 'wrangler.toml'), toml)
    return experimental_readRawConfig({ config: join(dir, 'wrangler.toml') }).rawConfig
  }
  try {
    const [seed] = blocks(
      workersSection(read('../../../docs/seed.md'), '## `@tanstack/realtime-preset-workerd`'),
      'toml',
    )
    const [readme] = blocks(workersSection(read('../../../README.md'), '## Cloudflare Workers'), 'toml')
    const seedSettings = parse(seed ?? '')
    expect(seedSettings).toHaveProperty('durable_objects')
    expect(seedSettings).toHaveProperty('migrations')
    expect(parse(readme ?? '')).toMatchObject({ ...seedSettings, main: 'worker.ts' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("wrangler accepts the example's wrangler.toml (the README's) and bundles its entry point", async () => {
  const outdir = mkdtempSync(join(tmpdir(), 'realtime-wrangler-'))
  const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
  try {
    // A dry run validates the config and bundles `main` without an account; no banner means no update check.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [wrangler, 'deploy', '--dry-run', '--config', wranglerToml, '--outdir', outdir],
      { env: { ...process.env, WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', CI: 'true' } },
    )
    expect(stdout).toContain('env.REALTIME_CHANNEL (RealtimeChannel)')
    expect(readFileSync(join(outdir, 'worker.js'), 'utf8')).toMatch(/export \{[^}]*\bRealtimeChannel,/)
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
})

test("the seed's Worker, wrangler.toml and POST publish run as pasted", async () => {
  const worker = await startFromWranglerToml(here('fixtures/seed-entry.ts'))
  const todos = ['todos', { teamId: '123' }] as const
  const alice = worker.client('alice')
  const got: unknown[] = []
  await alice.subscribe(todos, (message) => got.push(message)).ready

  const response = await httpRequest(`${worker.http}/__seed-publish`, {
    method: 'POST',
    body: JSON.stringify({ channel: serializeChannelKey(todos), data: { type: 'created', todo: { id: '1' } } }),
  })
  expect(response.status).toBe(200)
  await eventually(() => expect(got).toEqual([{ type: 'created', todo: { id: '1' } }]))

  // The seed's authorize grants subscribe and presence, not publish; a bad token is refused.
  await expect(alice.publish(todos, 'x')).rejects.toThrow(ForbiddenError)
  await getPresence(alice, ['room']).enter({ name: 'Alice' }).ready
  await expect(worker.client('not a token!').publish(['room'], 'x')).rejects.toThrow(ForbiddenError)
  expect(await upgradeStatus(`${worker.url}/_realtime/${encodeURIComponent('["room"]')}`)).toBe(401)
})

test("the seed's client snippet makes a lazy per-channel client", async () => {
  const { client } = await import('./fixtures/seed-client.js')
  clients.push(client)
  expect(client.status.getSnapshot()).toBe('disconnected')
  expect(client.connectionId).toBeUndefined()
})

test('the example Worker serves clients and publishes from its API route', async () => {
  const worker = await startFromWranglerToml(here('../example/worker.ts'))
  const alice = worker.client('alice')
  const got: unknown[] = []
  await alice.subscribe(['announcements'], (message) => got.push(message)).ready
  const announce = (authorization: string) =>
    httpRequest(`${worker.http}/api/announce`, {
      method: 'POST',
      headers: { Authorization: authorization },
      body: JSON.stringify({ text: 'maintenance at noon' }),
    })
  expect((await announce('Bearer wrong')).status).toBe(401)
  const accepted = await announce('Bearer s3cret')
  expect(accepted.json()).toMatchObject({ seq: 1 })
  await eventually(() => expect(got).toEqual([{ text: 'maintenance at noon' }]))
  await expect(alice.publish(['announcements'], 'x')).rejects.toThrow(ForbiddenError)
  await expect(alice.publish(['chat', { roomId: '1' }], 'hi')).resolves.toEqual({ seq: 1 })
})
