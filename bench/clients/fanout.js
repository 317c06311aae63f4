// @ts-check
/**
 * Fan-out (and latency at window 1): S subscribers on one channel and one publisher, all in this
 * process. The publisher keeps at most `window` messages in flight; a message leaves the window
 * when all S subscribers received it. Every delivery records its latency (receive time minus the
 * send time stamped in the payload, same clock). Bounded by `measureMs` and `measureMessages`. With
 * `ports` (several server processes sharing channels), the publisher uses the first and the
 * subscribers the others, in turn: every delivery crosses processes.
 */
import { serializeChannelKey } from '@tanstack/realtime'
import { clientMeter, mark, runClient } from '../lib/child.js'
import { nowUs, pool, sleep } from '../lib/clock.js'
import { Histogram } from '../lib/histogram.js'
import { BenchClient } from './lib/protocol.js'

const SLOTS = 1 << 16

runClient(async (params) => {
  const { server, port, subscribers, window, warmupMs, measureMs, measureMessages, payloadBytes } = params
  /** @type {number[]} */
  const ports = params.ports ?? [port]
  const subscriberPorts = ports.length > 1 ? ports.slice(1) : ports
  let turn = 0
  const chJson = JSON.stringify(serializeChannelKey(['bench']))
  const pad = 'x'.repeat(payloadBytes)
  const remaining = new Int32Array(SLOTS)
  const histogram = new Histogram()
  let measuring = false
  let running = true
  let sent = 0
  let inFlight = 0
  let completed = 0
  let delivered = 0
  let frameBytes = 0
  let lastProgress = performance.now()

  /** @type {import('./lib/protocol.js').OnData} */
  const onData = (i, ts, bytes) => {
    if (measuring) {
      histogram.record(nowUs() - ts)
      delivered++
      frameBytes += bytes
    }
    if (--remaining[i & (SLOTS - 1)] === 0) {
      inFlight--
      completed++
      lastProgress = performance.now()
      pump()
    }
  }

  /** @type {BenchClient[]} */
  const clients = []
  await pool(Array.from({ length: subscribers }), 50, async () => {
    const client = new BenchClient(server, subscriberPorts[turn++ % subscriberPorts.length] ?? port, onData)
    clients.push(client)
    await client.connect()
    await client.subscribe(serializeChannelKey(['bench']))
  })
  const publisher = new BenchClient(server, ports[0] ?? port, () => {})
  clients.push(publisher)
  await publisher.connect()

  function pump() {
    while (running && inFlight < window) {
      const i = sent++
      remaining[i & (SLOTS - 1)] = subscribers
      inFlight++
      publisher.publish(chJson, `{"i":${i},"ts":${nowUs()},"p":"${pad}"}`)
    }
  }

  /** @param {() => boolean} done */
  const until = async (done) => {
    while (!done()) {
      if (performance.now() - lastProgress > 10_000) throw new Error(`stalled: ${inFlight} messages in flight`)
      await sleep(5)
    }
  }

  pump()
  const warmupEnd = performance.now() + warmupMs
  await until(() => performance.now() >= warmupEnd)
  await mark('start')
  measuring = true
  const meter = clientMeter()
  const t0 = performance.now()
  const completedBefore = completed
  await until(() => performance.now() - t0 >= measureMs || completed - completedBefore >= measureMessages)
  await mark('end')
  measuring = false
  const elapsedMs = performance.now() - t0
  const client = meter()
  const messages = completed - completedBefore
  running = false
  await until(() => inFlight === 0)
  for (const c of clients) c.close()
  return {
    elapsedMs,
    messages,
    delivered,
    deliveredPerSec: (delivered / elapsedMs) * 1000,
    latency: histogram.summary(),
    frameBytes: delivered ? frameBytes / delivered : 0,
    client,
    errors: clients.reduce((sum, c) => sum + c.errors, 0),
  }
})
