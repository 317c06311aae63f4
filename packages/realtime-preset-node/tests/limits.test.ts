import { LimitExceededError } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import { bystander, closeClients, eventually, makeClient, rawClient, startServer, type TestServer } from './helpers.js'

// Bad input, oversized frames, floods and protocol versions run in the conformance suite
// (../../realtime/tests/conformance/suite.ts); this file keeps the limits of a shared socket.

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
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

test('a client that stops reading is disconnected as a slow consumer; memory stays bounded', async () => {
  server = await startServer({ maxBufferedBytes: 256 * 1024, maxMessageBytes: 60_000 })
  const other = await bystander(makeClient(server, 'bystander'))
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
