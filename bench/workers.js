// @ts-check
/**
 * Workers fan-out: one Durable Object, N subscriber sockets, one publisher keeping `window` messages
 * in flight, in real workerd (Miniflare) on 127.0.0.1. Ours (`RealtimeChannel` behind
 * `createWorkerdHandler`, rate limit off) against a minimal hand-written hibernating object that
 * broadcasts the same `msg` frames and keeps nothing. Runs alternate (ours, hand-written, ...) and
 * the table shows medians and the ratio.
 *
 * `npm run bench:workers [-- --quick] [--reps=N] [--sizes=100,500] [--window=64]`
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { WebSocket } from 'ws'
import { pool, sleep } from './lib/clock.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const option = (/** @type {string} */ name, /** @type {string} */ fallback) =>
  (args.find((arg) => arg.startsWith(`--${name}=`)) ?? `--${name}=${fallback}`).split('=')[1] ?? fallback
const REPS = Number(option('reps', QUICK ? '1' : '3'))
const SIZES = option('sizes', '100,500').split(',').map(Number)
const WINDOW = Number(option('window', '64'))
const MEASURE_MS = QUICK ? 1500 : 4000
const WARMUP_MS = QUICK ? 500 : 1000
const CHANNEL = '["bench"]'
const PAYLOAD = JSON.stringify({ pad: 'x'.repeat(100) })

/** Ours: the package's object and handler, everything allowed, no rate limit. */
const OURS = `
import { createWorkerdHandler, RealtimeChannel as Base } from '@tanstack/realtime-preset-workerd'
export class RealtimeChannel extends Base {
  options = { rateLimit: false, presenceGraceMs: 0 }
}
const handler = createWorkerdHandler({ getAuthToken: () => 'bench' })
export default { fetch: handler.fetch }
`

/** The hand-written object: hibernating sockets, a subscriber set in memory, the same frames, no storage. */
const HANDWRITTEN = `
import { DurableObject } from 'cloudflare:workers'
export class RealtimeChannel extends DurableObject {
  seq = 0
  subscribers = new Set()
  async fetch() {
    const [client, server] = Object.values(new WebSocketPair())
    this.ctx.acceptWebSocket(server)
    return new Response(null, { status: 101, webSocket: client })
  }
  webSocketMessage(ws, message) {
    const frame = JSON.parse(message)
    if (frame.t === 'sub') {
      this.subscribers.add(ws)
      ws.send('{"t":"ack","id":' + frame.id + ',"seq":' + this.seq + ',"epoch":"e"}')
    } else if (frame.t === 'pub') {
      const seq = ++this.seq
      const text = '{"t":"msg","ch":' + JSON.stringify(frame.ch) + ',"seq":' + seq + ',"data":' + JSON.stringify(frame.data) + '}'
      for (const socket of this.subscribers) socket.send(text)
      ws.send('{"t":"ack","id":' + frame.id + ',"seq":' + seq + '}')
    }
  }
  webSocketClose(ws) {
    this.subscribers.delete(ws)
  }
}
export default {
  fetch(request, env) {
    return env.REALTIME_CHANNEL.get(env.REALTIME_CHANNEL.idFromName('${CHANNEL}')).fetch(request)
  },
}
`

/** Bundles a Worker from source text (resolving the built packages from the repository). */
async function bundle(/** @type {string} */ source) {
  const result = await build({
    stdin: { contents: source, resolveDir: here, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    logLevel: 'error',
    write: false,
  })
  return result.outputFiles[0]?.text ?? ''
}

/** CPU seconds (user + system) of the workerd processes started by this process. */
function workerdCpu() {
  let total = 0
  for (const line of readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').split(/\s+/)) {
    if (!line) continue
    try {
      const stat = readFileSync(`/proc/${line}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      total += (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks (100/s)
    } catch {}
  }
  return total
}

/**
 * One run: starts workerd with `script`, connects `subscribers` sockets and a publisher, measures.
 * @param {string} script
 * @param {number} subscribers
 */
async function run(script, subscribers) {
  const mf = new Miniflare({
    modules: true,
    script,
    host: '127.0.0.1',
    port: 0,
    cf: false,
    compatibilityDate: '2026-04-01',
    log: new Log(LogLevel.WARN),
    durableObjects: { REALTIME_CHANNEL: 'RealtimeChannel' },
  })
  const url = await mf.ready
  const endpoint = `ws://127.0.0.1:${url.port}/_realtime/${encodeURIComponent(CHANNEL)}?v=1&token=bench`
  /** Deliveries per sequence number; a message leaves the window when every subscriber has it. */
  const received = new Map()
  let delivered = 0
  let onComplete = () => {}
  const open = async () => {
    const ws = new WebSocket(endpoint)
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    return ws
  }
  const sockets = []
  await pool(Array.from({ length: subscribers }), 20, async () => {
    const ws = await open()
    sockets.push(ws)
    await new Promise((resolve) => {
      ws.on('message', (data) => {
        const text = String(data)
        if (text.startsWith('{"t":"ack"')) return resolve(undefined)
        if (!text.startsWith('{"t":"msg"')) return
        const at = text.indexOf('"seq":') + 6
        const seq = Number.parseInt(text.slice(at, text.indexOf(',', at)), 10)
        delivered++
        const count = (received.get(seq) ?? 0) + 1
        if (count < subscribers) received.set(seq, count)
        else {
          received.delete(seq)
          onComplete()
        }
      })
      ws.send(JSON.stringify({ t: 'sub', id: 1, ch: CHANNEL }))
    })
  })
  const publisher = await open()
  let id = 0
  let inFlight = 0
  let running = true
  const publish = () => {
    while (running && inFlight < WINDOW) {
      inFlight++
      publisher.send(`{"t":"pub","id":${++id},"ch":${JSON.stringify(CHANNEL)},"data":${PAYLOAD}}`)
    }
  }
  onComplete = () => {
    inFlight--
    publish()
  }
  publish()
  await sleep(WARMUP_MS)
  const start = { delivered, cpu: workerdCpu(), time: performance.now() }
  await sleep(MEASURE_MS)
  const seconds = (performance.now() - start.time) / 1000
  const result = {
    deliveredPerSec: (delivered - start.delivered) / seconds,
    cpuPerDeliveryUs: ((workerdCpu() - start.cpu) * 1e6) / (delivered - start.delivered),
  }
  running = false
  for (const ws of [...sockets, publisher]) ws.terminate()
  await mf.dispose()
  return result
}

const median = (/** @type {number[]} */ values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const servers = { ours: await bundle(OURS), handwritten: await bundle(HANDWRITTEN) }
console.log(`Workers fan-out (${QUICK ? 'quick, ' : ''}${REPS} rep(s), window ${WINDOW}, 100-byte payload)`)
for (const size of SIZES) {
  /** @type {Record<string, Array<{ deliveredPerSec: number, cpuPerDeliveryUs: number }>>} */
  const runs = { ours: [], handwritten: [] }
  for (let rep = 0; rep < REPS; rep++) {
    for (const name of /** @type {const} */ (['ours', 'handwritten'])) runs[name].push(await run(servers[name], size))
  }
  const figure = (
    /** @type {'ours' | 'handwritten'} */ name,
    /** @type {'deliveredPerSec' | 'cpuPerDeliveryUs'} */ key,
  ) => median(runs[name].map((result) => result[key]))
  const line = (
    /** @type {string} */ label,
    /** @type {'deliveredPerSec' | 'cpuPerDeliveryUs'} */ key,
    /** @type {(v: number) => string} */ format,
  ) =>
    console.log(
      `  ${label.padEnd(36)}${format(figure('ours', key)).padStart(12)}${format(figure('handwritten', key)).padStart(14)}` +
        `${`${(figure('ours', key) / figure('handwritten', key)).toFixed(2)}x`.padStart(10)}`,
    )
  console.log(`${size} subscribers${' '.repeat(26)}ours  hand-written   ratio`)
  line('delivered msg/s', 'deliveredPerSec', (v) => Math.round(v).toLocaleString('en'))
  line('workerd CPU per delivery', 'cpuPerDeliveryUs', (v) => `${v.toFixed(2)} µs`)
}
