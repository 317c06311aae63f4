import { defineChannel, InvalidChannelKeyError, OfflineError, TooLargeError } from '@tanstack/realtime'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { closeClients, eventually, makeClient, startServer, type TestServer } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await startServer()
})
afterEach(async () => {
  closeClients()
  await server.stop()
})

test('two clients exchange messages on a parametrised channel', async () => {
  const alice = makeClient(server, 'alice')
  const bob = makeClient(server, 'bob')
  const aliceGot: unknown[] = []
  const bobGot: unknown[] = []
  await alice.subscribe(['chat', { roomId: '1', lang: 'en' }], (msg) => aliceGot.push(msg)).ready
  // Same channel: params are compared by value, in any key order.
  await bob.subscribe(['chat', { lang: 'en', roomId: '1' }], (msg) => bobGot.push(msg)).ready
  const other: unknown[] = []
  await bob.subscribe(['chat', { roomId: '2', lang: 'en' }], (msg) => other.push(msg)).ready

  await alice.publish(['chat', { roomId: '1', lang: 'en' }], { text: 'hi bob' })
  await bob.publish(['chat', { roomId: '1', lang: 'en' }], { text: 'hi alice' })

  await eventually(() => {
    expect(aliceGot).toEqual([{ text: 'hi bob' }, { text: 'hi alice' }])
    expect(bobGot).toEqual([{ text: 'hi bob' }, { text: 'hi alice' }])
  })
  expect(other).toEqual([])
})

test('messages carry increasing sequence numbers and publish resolves with them', async () => {
  const client = makeClient(server, 'alice')
  const seqs: number[] = []
  await client.subscribe(['counter'], (_msg, meta) => seqs.push(meta.seq)).ready
  const first = await client.publish(['counter'], 1)
  const second = await client.publish(['counter'], 2)
  expect(second.seq).toBe(first.seq + 1)
  await eventually(() => expect(seqs).toEqual([first.seq, second.seq]))
})

test('server-side publish reaches every subscriber', async () => {
  const clients = ['a', 'b', 'c'].map((name) => makeClient(server, name))
  const received = clients.map(() => [] as unknown[])
  await Promise.all(
    clients.map((client, i) => client.subscribe(['todos', { teamId: '123' }], (m) => received[i]?.push(m)).ready),
  )
  const position = await server.realtime.publish(['todos', { teamId: '123' }], { type: 'created', todo: { id: 1 } })
  expect(position.seq).toBe(1)
  await eventually(() => {
    for (const messages of received) expect(messages).toEqual([{ type: 'created', todo: { id: 1 } }])
  })
})

test('typed channel definitions name the same channel as raw keys', async () => {
  const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
  const client = makeClient(server, 'alice')
  const texts: string[] = []
  await client.subscribe(chat({ roomId: '7' }), (msg) => texts.push(msg.text)).ready
  await server.realtime.publish(['chat', { roomId: '7' }], { text: 'from the server' })
  await eventually(() => expect(texts).toEqual(['from the server']))
})

test('invalid keys, oversized messages and publishing while disconnected fail with typed errors', async () => {
  const client = makeClient(server, 'alice')
  expect(() => client.subscribe(['', {}], () => {})).toThrow(InvalidChannelKeyError)
  await expect(client.publish(['chat', { when: new Date() }], 'x')).rejects.toThrow(InvalidChannelKeyError)
  await client.publish(['chat'], 'connects lazily')
  await expect(client.publish(['chat'], 'x'.repeat(70_000))).rejects.toThrow(TooLargeError)
  client.disconnect()
  expect(client.status.getSnapshot()).toBe('disconnected')
  await expect(client.publish(['chat'], 'offline')).rejects.toThrow(OfflineError)
  await expect(server.realtime.publish(['chat'], 'x'.repeat(70_000))).rejects.toThrow(TooLargeError)
})
