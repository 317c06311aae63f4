// @ts-check
/**
 * Connect + subscribe cost and idle memory, in one server process, every connection subscribed to
 * one channel or (`layout: 'own'`) each to its own:
 * 1. warm-up: `warmup` connections connect, subscribe and close (JIT, pools);
 * 2. `mem:base`, then the CPU window around `cpuConnections` connect + subscribe (each waits for
 *    the subscription's ack; `concurrency` at a time);
 * 3. `mem:<n>` for each count in `memoryCounts`, opening more idle subscribed connections in
 *    between. The orchestrator turns the samples into CPU µs and RSS bytes per connection.
 */
import { serializeChannelKey } from '@tanstack/realtime'
import { clientMeter, mark, runClient } from '../lib/child.js'
import { pool, sleep } from '../lib/clock.js'
import { BenchClient } from './lib/protocol.js'

runClient(async (params) => {
  const { server, port, warmup, cpuConnections, memoryCounts, concurrency, layout } = params
  const shared = serializeChannelKey(['bench'])
  let connections = 0
  /** Every connection on one channel, or each on its own (`layout: 'own'`). */
  const channel = () => (layout === 'own' ? serializeChannelKey(['user', { id: ++connections }]) : shared)
  /** @type {BenchClient[]} */
  const open = []
  /** @param {number} count */
  const connect = (count) =>
    pool(Array.from({ length: count }), concurrency, async () => {
      const client = new BenchClient(server, port, () => {})
      open.push(client)
      await client.connect()
      await client.subscribe(channel())
    })

  await connect(warmup)
  for (const client of open.splice(0)) client.close()
  await sleep(500)

  await mark('mem:base')
  await mark('start')
  const meter = clientMeter()
  const t0 = performance.now()
  await connect(cpuConnections)
  await mark('end')
  const elapsedMs = performance.now() - t0
  const client = meter()

  /** @type {number[]} */
  const counts = []
  for (const count of memoryCounts) {
    if (count < open.length)
      throw new Error(`memory count ${count} is below the ${open.length} connections already open`)
    if (count > open.length) await connect(count - open.length)
    await sleep(300)
    await mark(`mem:${count}`)
    counts.push(count)
  }
  const errors = open.reduce((sum, c) => sum + c.errors, 0)
  for (const c of open) c.close()
  return { cpuConnections, elapsedMs, connectsPerSec: (cpuConnections / elapsedMs) * 1000, counts, client, errors }
})
