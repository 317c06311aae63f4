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
  await new Promise((resolve) => setTimeout(resolve, 50))
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
  await new Promise((resolve) => setTimeout(resolve, 50))
  clearInterval(timer)
  counts = [...new Set(counts)]
  expect(counts).toEqual([1])
  await server.realtime.publish(['chat', { roomId: '1' }], 'once')
  await eventually(() => expect(got).toEqual(['once']))
  await new Promise((resolve) => setTimeout(resolve, 30))
  expect(got).toEqual(['once'])
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
