// @ts-check
/**
 * Presence churn: `members` connections join presence on one channel, then each changes its state
 * `hz` times a second. Every update is a small patch `{"i":…,"ts":…}` that the server sends to
 * every other member. Like a real presence client, a member has at most one update in flight:
 * a change due while the previous update is not yet acknowledged is coalesced into the next one
 * (sent when the ack arrives), so a server that cannot keep up shows lower updates/s instead of an
 * unbounded queue.
 */
import { serializeChannelKey } from '@tanstack/realtime'
import { clientMeter, mark, runClient } from '../lib/child.js'
import { nowUs, pool, sleep } from '../lib/clock.js'
import { Histogram } from '../lib/histogram.js'
import { BenchClient } from './lib/protocol.js'

runClient(async (params) => {
  const { server, port, members, hz, warmupMs, measureMs } = params
  const ch = serializeChannelKey(['room', { id: 'presence' }])
  const chJson = JSON.stringify(ch)
  const histogram = new Histogram()
  let measuring = false
  let delivered = 0
  let totalDelivered = 0
  let frameBytes = 0

  /** @type {import('./lib/protocol.js').OnData} */
  const onData = (_i, ts, bytes) => {
    totalDelivered++
    if (!measuring) return
    histogram.record(nowUs() - ts)
    delivered++
    frameBytes += bytes
  }

  /** @type {BenchClient[]} */
  const clients = []
  await pool(Array.from({ length: members }), 10, async (_, k) => {
    const client = new BenchClient(server, port, onData)
    clients.push(client)
    await client.connect()
    await client.join(ch, `{"name":"member-${k}","color":"#${(k * 2654435761).toString(16).slice(-6)}"}`)
  })
  await sleep(100)

  // Schedule: `rate` changes/s spread evenly, round-robin over the members. A tick handles what
  // is due (at most one second's worth if the client fell behind).
  const rate = members * hz
  let changes = 0
  let sent = 0
  let sentInWindow = 0
  let coalesced = 0
  const inFlight = new Uint8Array(members)
  const dirty = new Uint8Array(members)
  /** @param {number} k */
  const send = (k) => {
    inFlight[k] = 1
    dirty[k] = 0
    const i = sent++
    if (measuring) sentInWindow++
    /** @type {BenchClient} */
    clients[k].update(chJson, `{"i":${i},"ts":${nowUs()}}`).then(
      () => {
        inFlight[k] = 0
        if (dirty[k] && running) send(k)
      },
      () => {},
    )
  }
  let running = true
  const start = performance.now()
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - changes
    for (let n = 0; n < Math.min(due, rate); n++) {
      const k = changes++ % members
      if (!inFlight[k]) send(k)
      else {
        if (dirty[k] && measuring) coalesced++
        dirty[k] = 1
      }
    }
  }, 2)

  await sleep(warmupMs)
  await mark('start')
  measuring = true
  const meter = clientMeter()
  const t0 = performance.now()
  await sleep(measureMs)
  await mark('end')
  measuring = false
  const elapsedMs = performance.now() - t0
  const client = meter()
  clearInterval(timer)
  running = false
  // Let what is in flight arrive (bounded), to report what never did.
  const expected = sent * (members - 1)
  const drainEnd = performance.now() + 5000
  while (totalDelivered < expected && performance.now() < drainEnd) await sleep(10)
  for (const c of clients) c.close()
  return {
    elapsedMs,
    offeredPerSec: rate,
    updatesPerSec: (sentInWindow / elapsedMs) * 1000,
    coalescedPerSec: (coalesced / elapsedMs) * 1000,
    delivered,
    deliveredPerSec: (delivered / elapsedMs) * 1000,
    expectedDeliveredPerSec: ((sentInWindow * (members - 1)) / elapsedMs) * 1000,
    undelivered: expected - totalDelivered,
    latency: histogram.summary(),
    frameBytes: delivered ? frameBytes / delivered : 0,
    client,
    errors: clients.reduce((sum, c) => sum + c.errors, 0),
  }
})
