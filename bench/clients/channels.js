// @ts-check
/**
 * Many channels: `connections` subscribers, each on its own channel plus one shared channel, and
 * `publishers` separate publisher connections with `window` messages in flight each. Publishes go
 * round the per-connection channels; every `sharedEvery`-th goes to the shared channel (reaching
 * everyone). A message completes when all its expected deliveries arrived.
 */
import { serializeChannelKey } from '@tanstack/realtime'
import { clientMeter, mark, runClient } from '../lib/child.js'
import { nowUs, pool, sleep } from '../lib/clock.js'
import { Histogram } from '../lib/histogram.js'
import { BenchClient } from './lib/protocol.js'

const SLOTS = 1 << 16

runClient(async (params) => {
  const { server, port, connections, publishers, window, sharedEvery, warmupMs, measureMs, payloadBytes } = params
  const shared = serializeChannelKey(['shared'])
  const own = Array.from({ length: connections }, (_, k) => serializeChannelKey(['c', { id: String(k) }]))
  const ownJson = own.map((ch) => JSON.stringify(ch))
  const sharedJson = JSON.stringify(shared)
  const pad = 'x'.repeat(payloadBytes)
  const remaining = new Int32Array(SLOTS)
  const owner = new Uint8Array(SLOTS)
  const inFlight = new Int32Array(publishers)
  const histogram = new Histogram()
  let measuring = false
  let running = true
  let sent = 0
  let completed = 0
  let delivered = 0
  let lastProgress = performance.now()

  /** @type {import('./lib/protocol.js').OnData} */
  const onData = (i, ts) => {
    if (measuring) {
      histogram.record(nowUs() - ts)
      delivered++
    }
    const slot = i & (SLOTS - 1)
    if (--remaining[slot] === 0) {
      const p = /** @type {number} */ (owner[slot])
      inFlight[p] = /** @type {number} */ (inFlight[p]) - 1
      completed++
      lastProgress = performance.now()
      pump(p)
    }
  }

  /** @type {BenchClient[]} */
  const clients = []
  await pool(own, 50, async (ch) => {
    const client = new BenchClient(server, port, onData)
    clients.push(client)
    await client.connect()
    await Promise.all([client.subscribe(ch), client.subscribe(shared)])
  })
  const pubs = await Promise.all(
    Array.from({ length: publishers }, async () => {
      const client = new BenchClient(server, port, () => {})
      clients.push(client)
      await client.connect()
      return client
    }),
  )

  /** @param {number} p */
  function pump(p) {
    const publisher = /** @type {BenchClient} */ (pubs[p])
    while (running && /** @type {number} */ (inFlight[p]) < window) {
      const i = sent++
      const slot = i & (SLOTS - 1)
      const toShared = i % sharedEvery === 0
      remaining[slot] = toShared ? connections : 1
      owner[slot] = p
      inFlight[p] = /** @type {number} */ (inFlight[p]) + 1
      const chJson = toShared ? sharedJson : /** @type {string} */ (ownJson[(i * 7919) % connections])
      publisher.publish(chJson, `{"i":${i},"ts":${nowUs()},"p":"${pad}"}`)
    }
  }

  /** @param {() => boolean} done */
  const until = async (done) => {
    while (!done()) {
      if (performance.now() - lastProgress > 10_000) throw new Error('stalled')
      await sleep(5)
    }
  }

  for (let p = 0; p < publishers; p++) pump(p)
  const warmupEnd = performance.now() + warmupMs
  await until(() => performance.now() >= warmupEnd)
  await mark('start')
  measuring = true
  const meter = clientMeter()
  const t0 = performance.now()
  const completedBefore = completed
  await until(() => performance.now() - t0 >= measureMs)
  await mark('end')
  measuring = false
  const elapsedMs = performance.now() - t0
  const client = meter()
  const messages = completed - completedBefore
  running = false
  await until(() => inFlight.every((n) => n === 0))
  for (const c of clients) c.close()
  return {
    elapsedMs,
    messages,
    publishesPerSec: (messages / elapsedMs) * 1000,
    delivered,
    deliveredPerSec: (delivered / elapsedMs) * 1000,
    latency: histogram.summary(),
    client,
    errors: clients.reduce((sum, c) => sum + c.errors, 0),
  }
})
