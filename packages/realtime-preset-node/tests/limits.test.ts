import { type ChannelKey, CloseCodes, getPresence, LimitExceededError, serializeChannelKey } from '@tanstack/realtime'
import { MemoryChannelStore } from '@tanstack/realtime/server'
import { afterEach, expect, test } from 'vitest'
import type { RawSocket } from '../../realtime/tests/support/helpers.js'
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
  await expect(getPresence(client, ['c', { i: 4 }]).enter({}).ready).rejects.toThrow(LimitExceededError)
  // Presence on a channel it already subscribes to does not count twice.
  await getPresence(client, ['c', { i: 0 }]).enter({}).ready
})

test('a client that stops reading is disconnected as a slow consumer; when it reads again it gets 4008', async () => {
  // The default bound (4 MiB): more than the operating system buffers on its own.
  server = await startServer({ maxMessageBytes: 60_000 })
  const other = await bystander(makeClient(server, 'bystander'))
  const raw = await rawClient(server.url, 'slow')
  await raw.request({ t: 'sub', id: 1, ch: '["firehose"]' })
  const tcp = (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
  tcp.pause()
  const payload = 'x'.repeat(50_000)
  // Bounded: at most 2000 x 50 KB (loopback buffers hold a few MB before the server notices).
  for (let i = 0; i < 2000 && server.realtime.engine.stats().connections > 1; i++) {
    await server.realtime.publish(['firehose'], payload)
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await eventually(() => expect(server?.realtime.engine.stats().connections).toBe(1))
  await other.stillWorks('after the slow consumer')
  // The client stays stalled for a while (longer than the 2 s after which the server used to cut it,
  // with the close frame still behind megabytes of data), then reads again: the close code reaches it.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  tcp.resume()
  expect((await raw.closed).code).toBe(CloseCodes.SlowConsumer)
})

test('when ws closes a socket itself (1009, 1007), the answers already given arrive before the close', async () => {
  server = await startServer({ maxMessageBytes: 1000 })
  const got: unknown[] = []
  await makeClient(server, 'watcher').subscribe(['lobby'], (msg) => got.push(msg)).ready
  const cases: Array<[number, (raw: RawSocket) => void]> = [
    [1009, (raw) => raw.send({ t: 'pub', id: 2, ch: '["lobby"]', data: 'x'.repeat(5000) })],
    [1007, (raw) => raw.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })],
  ]
  for (const [code, breakIt] of cases) {
    const raw = await rawClient(server.url, 'alice')
    const tcp = (raw.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket
    // Both frames in one TCP write: the server reads them in one go, answering the first before
    // ws refuses the second.
    tcp.cork()
    raw.send({ t: 'pub', id: 1, ch: '["lobby"]', data: `before ${code}` })
    breakIt(raw)
    tcp.uncork()
    expect((await raw.closed).code).toBe(code)
    const answers = raw.frames.filter((frame) => frame.t === 'ack' || frame.t === 'err')
    expect(answers[0]).toMatchObject({ t: 'ack', id: 1 })
    if (code === 1009) expect(answers[1]).toMatchObject({ t: 'err', code: 'too_large' })
    await eventually(() => expect(got).toContain(`before ${code}`))
  }
})

test('history stays within maxHistoryBytes: idle channels go first, their resumers reset, recent ones replay', async () => {
  const budget = 1_000_000
  const store = new MemoryChannelStore({ maxHistoryBytes: budget })
  server = await startServer({ store, maxMessageBytes: 60_000 })
  const raw = await rawClient(server.url, 'alice')
  await raw.request({ t: 'sub', id: 1, ch: '["active"]' })
  const active = await server.realtime.publish(['active'], 'a'.repeat(50_000))
  const positions = []
  // 3 MB of messages, each channel idle (nobody subscribed), three times the budget.
  for (let n = 0; n < 60; n++) {
    positions.push(await server.realtime.publish(['idle', { n }], 'x'.repeat(50_000)))
    expect(store.historyBytes).toBeLessThanOrEqual(budget)
  }
  expect(store.historyBytes).toBeGreaterThan(budget / 2)
  const resume = (id: number, key: ChannelKey, epoch: string) =>
    raw.request({ t: 'sub', id, ch: serializeChannelKey(key), since: { seq: 0, epoch } })
  // The oldest idle channel was dropped: its resumer is told to reset.
  expect(await resume(2, ['idle', { n: 0 }], positions[0]?.epoch ?? '')).toMatchObject({ t: 'ack', reset: true })
  // A recent one replays.
  expect(await resume(3, ['idle', { n: 59 }], positions[59]?.epoch ?? '')).toEqual({
    t: 'ack',
    id: 3,
    seq: 1,
    epoch: positions[59]?.epoch,
  })
  expect(raw.frames).toContainEqual({ t: 'msg', ch: '["idle",{"n":59}]', seq: 1, data: 'x'.repeat(50_000) })
  // The channel with a subscriber kept its history although it published first.
  expect(await resume(4, ['active'], active.epoch)).toEqual({ t: 'ack', id: 4, seq: 1, epoch: active.epoch })

  // The option reaches the default store too.
  await server.stop()
  server = await startServer({ maxHistoryBytes: 120_000, maxMessageBytes: 60_000 })
  const other = await rawClient(server.url, 'bob')
  const dropped = await server.realtime.publish(['old'], 'x'.repeat(50_000))
  for (let n = 0; n < 3; n++) await server.realtime.publish(['new', { n }], 'x'.repeat(50_000))
  expect(
    await other.request({ t: 'sub', id: 1, ch: '["old"]', since: { seq: 0, epoch: dropped.epoch } }),
  ).toMatchObject({ reset: true })
})
