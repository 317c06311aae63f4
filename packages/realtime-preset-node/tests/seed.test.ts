import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { ForbiddenError, getPresence, ValidationError } from '@tanstack/realtime'
import { afterAll, expect, test, vi } from 'vitest'
import { closeClients, eventually, makeClient } from './helpers.js'

const fixtures = new URL('./fixtures/', import.meta.url)

/** The seed server fixture's free port: the seed's client snippets, pasted as they are, dial `localhost:3000`. */
const seedServerPort = vi.hoisted(() => ({ value: 0 }))
vi.mock('ws', async (importOriginal) => {
  const ws = await importOriginal<typeof import('ws')>()
  class ToSeedServer extends ws.WebSocket {
    constructor(address: string | URL | null, ...rest: unknown[]) {
      // Client sockets dial the seed's address; the server's own sockets (address null) pass through.
      const to = address && String(address).replace('ws://localhost:3000/', `ws://127.0.0.1:${seedServerPort.value}/`)
      super(to as string, ...(rest as []))
    }
  }
  return { ...ws, default: ToSeedServer, WebSocket: ToSeedServer }
})

afterAll(closeClients)

test('every ts snippet in the README and the seed Node snippets are run by this suite, verbatim', () => {
  const sources = [
    'seed-server.ts',
    'seed-client.ts',
    'seed-usage.ts',
    'readme-server.ts',
    'readme-usage.ts',
    'readme-typed.ts',
    'readme-collections.ts',
    'readme-schemas/channels.ts',
    'readme-schemas/server.ts',
  ].map((file) => readFileSync(new URL(file, fixtures), 'utf8'))
  const blocks = (markdown: string) => [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  // The Cloudflare Workers section runs in packages/realtime-preset-workerd/tests/seed.test.ts.
  const readme = blocks(
    readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(
      /\n## Cloudflare Workers\n[\s\S]*?(?=\n## )/,
      '\n',
    ),
  )
  const seed = blocks(readFileSync(new URL('../../../docs/seed.md', import.meta.url), 'utf8')).filter(
    (block) => block.includes('realtime-preset-node') && !block.includes('react'),
  )
  expect(readme.length).toBeGreaterThanOrEqual(4)
  expect(seed.length).toBe(3)
  for (const block of [...readme, ...seed]) {
    expect(
      sources.some((source) => source.includes(block)),
      block,
    ).toBe(true)
  }
})

test("the seed's Node server and client snippets run as pasted", async () => {
  const seedServer = await import('./fixtures/seed-server.js')
  seedServerPort.value = (seedServer.httpServer.address() as AddressInfo).port
  const { client } = await import('./fixtures/seed-client.js')
  const { client: usageClient } = await import('./fixtures/seed-usage.js')
  try {
    const got: unknown[] = []
    await client.subscribe(['todos', { teamId: '123' }], (message) => got.push(message)).ready
    await seedServer.publish(['todos', { teamId: '123' }], { type: 'created', todo: { id: '2' } })
    await eventually(() => expect(got).toEqual([{ type: 'created', todo: { id: '2' } }]))
    // The seed's authorize grants no publish.
    await expect(usageClient.publish(['todos', { teamId: '123' }], 'x')).rejects.toThrow(ForbiddenError)
    await getPresence(usageClient, ['room']).enter({ name: 'guest' }).ready
    expect(client.userId).toBe('guest')
  } finally {
    client.disconnect()
    usageClient.disconnect()
    await new Promise<void>((resolve) => seedServer.httpServer.close(() => resolve()))
  }
})

test("the README's live-collection server snippet serves snapshots and writes", async () => {
  const { createCollection } = await import('@tanstack/db')
  const { liveCollectionOptions } = await import('@tanstack/realtime')
  const { startHttp } = await import('./helpers.js')
  const snippet = await import('./fixtures/readme-collections.js')
  const http = await startHttp(snippet.server)
  const client = makeClient(http, 'ada')
  try {
    const todos = createCollection(
      liveCollectionOptions({
        client,
        channel: ['todos', { teamId: '123' }],
        getId: (todo: { id: string; title: string; done: boolean }) => todo.id,
      }),
    )
    await todos.preload()
    expect([...todos.keys()]).toEqual(['1'])
    // The snippet's server-side publish reaches live collections as a change.
    await snippet.publish(['todos', { teamId: '123' }], {
      changes: [{ type: 'insert', value: { id: '2', title: 'Pushed', done: false } }],
    })
    await eventually(() => expect([...todos.keys()].sort()).toEqual(['1', '2']))
    await todos.insert({ id: '3', title: 'Written by a client', done: false }).isPersisted.promise
    expect(snippet.rows.has('3')).toBe(true)
    await expect(todos.insert({ id: '4', title: '', done: false }).isPersisted.promise).rejects.toThrow(
      'A todo needs a title.',
    )
  } finally {
    client.disconnect()
    await http.close()
  }
})

test("the README's usage snippets run", async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    const { room } = await import('./fixtures/readme-usage.js')
    // The snippet logged the subscribed message and the presence list, then left.
    expect(log).toHaveBeenCalledWith(1, { text: 'Hello!' })
    expect(log).toHaveBeenCalledWith([])
    await eventually(() => expect(room.getSnapshot().status).toBe('idle'))
    const { chat, editor } = await import('./fixtures/readme-typed.js')
    expect(chat({ roomId: '1' })).toEqual(['chat', { roomId: '1' }])
    expect(editor.kind).toBe('presence')
  } finally {
    log.mockRestore()
    const { usageServer } = await import('./fixtures/usage-setup.js')
    closeClients()
    await usageServer.stop()
  }
})

test("the README's schemas: the server stamps the author and the time, and both sides check the payload", async () => {
  const { startHttp } = await import('./helpers.js')
  const { server } = await import('./fixtures/readme-schemas/server.js')
  const { chat } = await import('./fixtures/readme-schemas/channels.js')
  const http = await startHttp(server)
  const [ada, mallory] = [makeClient(http, 'ada'), makeClient(http, 'mallory')]
  try {
    const got: unknown[] = []
    await ada.subscribe(chat({ roomId: '42' }), (message) => got.push(message)).ready
    // A raw key skips the client's check; the claimed author and time are dropped by the schema.
    await mallory.publish(['chat', { roomId: '42' }], { text: ' Hello! ', from: 'ada', at: 0 })
    await eventually(() => expect(got).toEqual([{ text: 'Hello!', from: 'mallory', at: expect.any(Number) }]))
    expect((got[0] as { at: number }).at).toBeGreaterThan(0)
    await expect(ada.publish(chat({ roomId: '42' }), { text: '' })).rejects.toThrow(ValidationError)
    await expect(mallory.publish(['chat', { roomId: '42' }], { text: '' })).rejects.toThrow(ValidationError)
  } finally {
    closeClients()
    await http.close()
  }
})
