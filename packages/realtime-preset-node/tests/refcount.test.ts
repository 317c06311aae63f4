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

const count = () => server.realtime.engine.subscriberCount(['chat', { roomId: '1' }])

/**
 * The barrier for "no unsubscribe was sent": resolves once the server has handled every unsubscribe
 * `client` had scheduled before the call. A marker channel's own unsubscribe (deferred one timer
 * tick, as every last unsubscribe is) leaves after them, and one connection's frames are handled in order.
 */
async function unsubscribesHandled(client: ReturnType<typeof makeClient>) {
  const marker = client.subscribe(['marker'], () => {})
  await marker.ready
  marker()
  await eventually(() => expect(server.realtime.engine.subscriberCount(['marker'])).toBe(0))
}

test('two local subscribers share one server subscription; the last unsubscribe ends it', async () => {
  const client = makeClient(server, 'alice')
  const first: unknown[] = []
  const second: unknown[] = []
  const unsubscribeFirst = client.subscribe(['chat', { roomId: '1' }], (msg) => first.push(msg))
  const unsubscribeSecond = client.subscribe(['chat', { roomId: '1' }], (msg) => second.push(msg))
  await Promise.all([unsubscribeFirst.ready, unsubscribeSecond.ready])
  expect(count()).toBe(1)

  await server.realtime.publish(['chat', { roomId: '1' }], 'both')
  await eventually(() => expect([first, second]).toEqual([['both'], ['both']]))

  unsubscribeFirst()
  await unsubscribesHandled(client)
  expect(count()).toBe(1)
  await server.realtime.publish(['chat', { roomId: '1' }], 'second only')
  await eventually(() => expect(second).toEqual(['both', 'second only']))
  expect(first).toEqual(['both'])

  unsubscribeSecond()
  await eventually(() => expect(count()).toBe(0))
  expect(server.realtime.server.stats().channels).toBe(0)
})

test('unsubscribe then subscribe in the same tick (React StrictMode) keeps the one server subscription', async () => {
  const client = makeClient(server, 'alice')
  const got: unknown[] = []
  const unsubscribe = client.subscribe(['chat', { roomId: '1' }], () => {})
  await unsubscribe.ready
  let counts: number[] = []
  const timer = setInterval(() => counts.push(count()), 1)
  unsubscribe()
  const again = client.subscribe(['chat', { roomId: '1' }], (msg) => got.push(msg))
  await again.ready
  await unsubscribesHandled(client)
  clearInterval(timer)
  counts = [...new Set(counts)]
  expect(counts).toEqual([1])
  await server.realtime.publish(['chat', { roomId: '1' }], 'once')
  await eventually(() => expect(got).toEqual(['once']))
  // The barrier: a message published after it arrives, with nothing in between.
  await server.realtime.publish(['chat', { roomId: '1' }], 'marker')
  await eventually(() => expect(got).toEqual(['once', 'marker']))
})

test('a subscriber that throws does not stop the others', async () => {
  const client = makeClient(server, 'alice')
  const got: unknown[] = []
  await client.subscribe(['chat', { roomId: '1' }], () => {
    throw new Error('buggy subscriber')
  }).ready
  await client.subscribe(['chat', { roomId: '1' }], (msg) => got.push(msg)).ready
  await server.realtime.publish(['chat', { roomId: '1' }], 'still delivered')
  await eventually(() => expect(got).toEqual(['still delivered']))
})
