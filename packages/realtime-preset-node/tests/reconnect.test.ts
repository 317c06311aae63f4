import { createRealtimeClient, OfflineError } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { afterEach, expect, test } from 'vitest'
import {
  closeClients,
  eventually,
  makeClient,
  recordStatuses,
  startProxy,
  startServer,
  type TestServer,
} from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

test('after a server restart the client reconnects, resubscribes and re-enters presence', async () => {
  server = await startServer()
  const alice = makeClient(server, 'alice')
  const bob = makeClient(server, 'bob')
  const got: unknown[] = []
  const resets: number[] = []
  await alice.subscribe(['chat'], (msg) => got.push(msg), { onReset: () => resets.push(1) }).ready
  await alice.presence(['room']).enter({ name: 'Alice' }).ready
  const bobPresence = bob.presence(['room'])
  await bobPresence.enter({ name: 'Bob' }).ready
  await server.realtime.publish(['chat'], 'before')
  await eventually(() => expect(got).toEqual(['before']))
  const statuses = recordStatuses(alice)

  await server.stop()
  await eventually(() => expect(alice.status.getSnapshot()).toBe('reconnecting'))
  await server.restart()
  await eventually(() => expect(alice.status.getSnapshot()).toBe('connected'))
  expect(statuses[0]).toBe('connected')
  expect(statuses).toContain('reconnecting')

  // Channels were resubscribed: the server knows about alice's subscription again.
  await eventually(() => expect(server?.realtime.engine.subscriberCount(['chat'])).toBe(1))
  await server.realtime.publish(['chat'], 'after')
  await eventually(() => expect(got).toEqual(['before', 'after']))
  // The new server has a new history (a new epoch): the subscriber was told to reset.
  expect(resets).toEqual([1])
  // Presence was re-entered on the new server.
  await eventually(() => expect(bobPresence.getSnapshot().others.map((m) => m.state)).toEqual([{ name: 'Alice' }]))
})

test('a short network cut replays the missed messages exactly once', async () => {
  server = await startServer()
  const proxy = await startProxy(server.port)
  const client = makeClient(proxy, 'alice')
  const got: number[] = []
  const lives: boolean[] = []
  await client.subscribe(['feed'], (n) => got.push(n as number), { onLive: (info) => lives.push(info.recovered) }).ready
  for (let n = 1; n <= 3; n++) await server.realtime.publish(['feed'], n)
  await eventually(() => expect(got).toEqual([1, 2, 3]))

  proxy.block()
  proxy.cut()
  await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
  for (let n = 4; n <= 8; n++) await server.realtime.publish(['feed'], n)
  proxy.unblock()
  await eventually(() => expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]))
  expect(lives).toEqual([false, true])
  await server.realtime.publish(['feed'], 9)
  await eventually(() => expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]))
  await proxy.close()
})

test('when history no longer covers the gap the subscriber is told to reset', async () => {
  server = await startServer({ historySize: 2 })
  const proxy = await startProxy(server.port)
  const client = makeClient(proxy, 'alice')
  const got: number[] = []
  let resets = 0
  await client.subscribe(['feed'], (n) => got.push(n as number), { onReset: () => resets++ }).ready
  await server.realtime.publish(['feed'], 1)
  await eventually(() => expect(got).toEqual([1]))

  proxy.block()
  proxy.cut()
  await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
  for (let n = 2; n <= 6; n++) await server.realtime.publish(['feed'], n)
  proxy.unblock()
  await eventually(() => expect(resets).toBe(1))
  expect(got).toEqual([1]) // nothing replayed, nothing duplicated
  await server.realtime.publish(['feed'], 7)
  await eventually(() => expect(got).toEqual([1, 7]))
  await proxy.close()
})

test('getAuthToken is asked again on every reconnect', async () => {
  server = await startServer()
  const proxy = await startProxy(server.port)
  let calls = 0
  const client = createRealtimeClient({
    transport: nodeTransport({
      url: proxy.url,
      getAuthToken: async () => {
        calls++
        return `user-${calls}`
      },
    }),
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  })
  client.connect()
  await eventually(() => expect(client.userId).toBe('user-1'))
  proxy.cut()
  await eventually(() => expect(client.userId).toBe('user-2'))
  expect(client.status.getSnapshot()).toBe('connected')
  client.disconnect()
  await proxy.close()
})

test('a publish made while reconnecting is sent once the connection is back', async () => {
  server = await startServer()
  const proxy = await startProxy(server.port)
  const client = makeClient(proxy, 'alice')
  const observer = makeClient(server, 'bob')
  const got: unknown[] = []
  await observer.subscribe(['chat'], (msg) => got.push(msg)).ready
  await client.publish(['chat'], 'first')
  proxy.block()
  proxy.cut()
  await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
  const pending = client.publish(['chat'], 'queued')
  await new Promise((resolve) => setTimeout(resolve, 50))
  proxy.unblock()
  await expect(pending).resolves.toMatchObject({ seq: 2 })
  await eventually(() => expect(got).toEqual(['first', 'queued']))
  await proxy.close()
})

test('disconnect() stops reconnecting; connect() resumes subscriptions', async () => {
  server = await startServer()
  const client = makeClient(server, 'alice')
  const got: unknown[] = []
  await client.subscribe(['chat'], (msg) => got.push(msg)).ready
  client.disconnect()
  expect(client.status.getSnapshot()).toBe('disconnected')
  await eventually(() => expect(server?.realtime.engine.subscriberCount(['chat'])).toBe(0))
  await expect(client.publish(['chat'], 'nope')).rejects.toThrow(OfflineError)
  await server.realtime.publish(['chat'], 'while away')
  client.connect()
  await eventually(() => expect(client.status.getSnapshot()).toBe('connected'))
  await eventually(() => expect(got).toEqual(['while away'])) // resumed from the last position
})
