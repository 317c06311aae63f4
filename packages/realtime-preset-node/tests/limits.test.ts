import { LimitExceededError, RateLimitedError } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { closeClients, eventually, makeClient, rawClient, startServer, type TestServer } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

/** A second, well-behaved client that must keep working whatever the first one does. */
async function bystander(target: TestServer) {
  const client = makeClient(target, 'bystander')
  const got: unknown[] = []
  await client.subscribe(['lobby'], (msg) => got.push(msg)).ready
  return {
    async stillWorks(text: string) {
      await client.publish(['lobby'], text)
      await eventually(() => expect(got).toContain(text))
    },
  }
}

test('malformed JSON and unknown message types get an error; the connection stays open', async () => {
  server = await startServer()
  const other = await bystander(server)
  const raw = await rawClient(server.url)
  raw.send('{not json')
  expect(await raw.next((f) => f.t === 'err')).toMatchObject({ code: 'invalid', msg: 'Frame is not valid JSON.' })
  expect(await raw.request({ t: 'launch', id: 7, ch: '["x"]' })).toMatchObject({ t: 'err', id: 7, code: 'invalid' })
  expect(await raw.request({ t: 'sub', id: 8, ch: '["x", {"b":1,"a":2}]' })).toMatchObject({
    t: 'err',
    id: 8,
    code: 'invalid',
  })
  expect(await raw.request({ t: 'sub', id: 9, ch: '["x"]', since: { seq: -1, epoch: 'e' } })).toMatchObject({
    code: 'invalid',
  })
  expect(await raw.request({ t: 'pub', id: 10, ch: '["lobby"]', data: 'raw works' })).toMatchObject({ t: 'ack' })
  await other.stillWorks('after garbage')
  expect(raw.ws.readyState).toBe(WebSocket.OPEN)
  raw.ws.close()
})

test('an oversized frame closes that socket with 1009; others keep working', async () => {
  server = await startServer({ maxMessageBytes: 1000 })
  const other = await bystander(server)
  const raw = await rawClient(server.url)
  expect(await raw.request({ t: 'pub', id: 1, ch: '["lobby"]', data: 'x'.repeat(1500) })).toMatchObject({
    code: 'too_large',
  })
  raw.send(JSON.stringify({ t: 'pub', id: 2, ch: '["lobby"]', data: 'x'.repeat(5000) }))
  expect((await raw.closed).code).toBe(1009)
  await other.stillWorks('after the big frame')
})

test('too many channels on one connection is refused with a typed error', async () => {
  server = await startServer({ maxChannelsPerConnection: 3 })
  const client = makeClient(server, 'alice')
  for (let i = 0; i < 3; i++) await client.subscribe(['c', { i }], () => {}).ready
  await expect(client.subscribe(['c', { i: 3 }], () => {}).ready).rejects.toThrow(LimitExceededError)
  await expect(client.presence(['c', { i: 4 }]).enter({}).ready).rejects.toThrow(LimitExceededError)
  // Presence on a channel it already subscribes to does not count twice.
  await client.presence(['c', { i: 0 }]).enter({}).ready
})

test('a publish flood is rate limited, then disconnected; others keep working', async () => {
  server = await startServer({ rateLimit: { perSecond: 10, burst: 20 } })
  const other = await bystander(server)
  const client = makeClient(server, 'flooder')
  const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => client.publish(['lobby'], i)))
  const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)
  expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(20)
  expect(rejected.length).toBeGreaterThan(0)
  expect(rejected.every((error) => error instanceof RateLimitedError)).toBe(true)

  const raw = await rawClient(server.url, 'raw-flooder')
  for (let i = 1; i <= 100; i++) raw.send({ t: 'pub', id: i, ch: '["lobby"]', data: i })
  expect((await raw.closed).code).toBe(4029)
  await other.stillWorks('after the flood')
})

test('a client that stops reading is disconnected as a slow consumer; memory stays bounded', async () => {
  server = await startServer({ maxBufferedBytes: 256 * 1024, maxMessageBytes: 60_000 })
  const other = await bystander(server)
  const raw = await rawClient(server.url, 'slow')
  await raw.request({ t: 'sub', id: 1, ch: '["firehose"]' })
  const tcp = (raw.ws as unknown as { _socket: { pause(): void } })._socket
  tcp.pause()
  const payload = 'x'.repeat(50_000)
  // Bounded: at most 2000 x 50 KB (loopback buffers hold a few MB before the server notices).
  for (let i = 0; i < 2000 && server.realtime.engine.stats().connections > 1; i++) {
    await server.realtime.publish(['firehose'], payload)
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await eventually(() => expect(server?.realtime.engine.stats().connections).toBe(1))
  await other.stillWorks('after the slow consumer')
  raw.ws.terminate()
})

test('an unsupported protocol version is closed with 4400', async () => {
  server = await startServer()
  const ws = new WebSocket(`${server.url}/_realtime?v=99&token=alice`)
  const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)))
  expect(code).toBe(4400)
})
