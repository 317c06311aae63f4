// @ts-check
/**
 * `npm run bench [-- --quick] [--only=fanout100,latency,…] [--reps=N] [--profile]`
 *
 * Starts each server in its own process on 127.0.0.1 (pinned to core 0 with taskset when
 * available), drives it from load-generating client processes (pinned to core 1), samples the
 * server's CPU/memory around each measured window over IPC, and prints one table of absolute
 * values and ratios (ours / raw ws, ours / Socket.IO), all from the same run. Writes
 * bench/results/latest.json. Every child is killed at the end, on error and on Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '@tanstack/realtime-redis/testing'
import { BUDGETS, formatBundles, measureBundles } from './bundle-size.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const resultsDir = path.join(root, 'bench/results')

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2)
/** @param {string} name */
const flag = (name) => argv.includes(`--${name}`)
/** @param {string} name */
const option = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]

const QUICK = flag('quick')
const PROFILE = flag('profile')
const HEAP_SNAPSHOT = flag('heap-snapshot')
const REPS = Number(option('reps') ?? (QUICK ? 1 : 3))
const ONLY = option('only')?.split(',')
const SKIP_BUNDLES = flag('no-bundles')
const CONTESTANTS = /** @type {const} */ (['ours', 'ws', 'socketio'])
const NAMES = {
  ours: 'ours',
  ws: 'raw ws',
  socketio: 'Socket.IO',
  null: 'null (check)',
  'ours-redis': 'ours x3+Redis',
  'socketio-redis': 'SIO x3+Redis',
}
/** Server processes of a scale-out topology (`<server>-redis`: that many processes sharing one Redis). */
const TOPOLOGY_PROCESSES = 3

const size = QUICK
  ? { warmupMs: 500, measureMs: 1500, latencyMessages: 300, connect: 1000, memory: [1000, 5000] }
  : { warmupMs: 1000, measureMs: 4000, latencyMessages: 1500, connect: 1000, memory: [1000, 5000] }

const FANOUT_WINDOW = Number(option('window') ?? 16)
/** A run during which other processes used more than this % of a core is repeated (at most 3 attempts). */
const NOISE_PCT = 15
const MAX_ATTEMPTS = 3
/** No more repeats after this much time, so a full run stays under 15 minutes. */
const RETRY_BUDGET_MS = QUICK ? 100_000 : 600_000
const PAYLOAD_BYTES = 64

/**
 * @typedef {Record<string, number>} Metrics
 * @typedef {{ cpuUs: number, t: number, eluActive: number, eluIdle: number, rss: number, heapUsed: number, cores?: Array<{busy: number, total: number}> | null, others?: number | null }} Sample
 * @typedef {{ result: any, samples: Record<string, Sample> }} RunOutput
 * @typedef {object} Workload
 * @property {string} id
 * @property {string} title
 * @property {string} client script in bench/clients
 * @property {string[]} servers
 * @property {Record<string, unknown>} params
 * @property {number} timeoutMs
 * @property {(out: RunOutput) => Metrics} metrics
 * @property {Array<[key: string, label: string, format: (n: number) => string]>} rows
 * @property {boolean} [scaleOut] a scale-out workload: its own table (ours and Socket.IO on several processes + Redis)
 */

/** Server-side CPU over the client's measured window. @param {Record<string, Sample>} s */
function serverWindow(s) {
  const start = /** @type {Sample} */ (s.start)
  const end = /** @type {Sample} */ (s.end)
  const cpuUs = end.cpuUs - start.cpuUs
  const wallMs = end.t - start.t
  const active = end.eluActive - start.eluActive
  const idle = end.eluIdle - start.eluIdle
  /** @param {number} core */
  const coreBusy = (core) => {
    const a = start.cores?.[core]
    const b = end.cores?.[core]
    return a && b && b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * 100 : Number.NaN
  }
  const others = start.others != null && end.others != null ? end.others - start.others : Number.NaN
  return {
    cpuUs,
    // /proc ticks are 10 ms (USER_HZ 100).
    otherPct: ((others * 10) / wallMs) * 100,
    serverCpuPct: (cpuUs / 1000 / wallMs) * 100,
    serverElu: active / (active + idle),
    core0Pct: coreBusy(0),
    core1Pct: coreBusy(1),
  }
}

const int = (/** @type {number} */ n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—')
const ms = (/** @type {number} */ n) => (Number.isFinite(n) ? `${n.toFixed(2)} ms` : '—')
const us = (/** @type {number} */ n) => (Number.isFinite(n) ? `${n.toFixed(2)} µs` : '—')
const pct = (/** @type {number} */ n) => (Number.isFinite(n) ? `${n.toFixed(0)} %` : '—')
const bytes = (/** @type {number} */ n) => (Number.isFinite(n) ? `${(n / 1024).toFixed(2)} KB` : '—')
const plain = (/** @type {number} */ n) => (Number.isFinite(n) ? n.toFixed(0) : '—')

/** Rows every throughput workload shows: is the server or the client the bottleneck? */
const LOAD_ROWS = /** @type {Workload['rows']} */ ([
  ['serverCpuPct', '  server process CPU', pct],
  ['clientCpuPct', '  client process CPU', pct],
  ['core0Pct', '  core 0 busy (server + kernel)', pct],
  ['core1Pct', '  core 1 busy (clients + kernel)', pct],
  ['otherPct', '  other processes on the machine', pct],
])

/**
 * The load figures every workload reports beside its own: CPU of the server, the clients and each
 * core over the measured window, other processes' share, and client-side errors.
 * @param {any} result
 * @param {any} server
 */
function loadMetrics(result, server) {
  return {
    serverCpuPct: server.serverCpuPct,
    clientCpuPct: result.client.cpuPct,
    core0Pct: server.core0Pct,
    otherPct: server.otherPct,
    core1Pct: server.core1Pct,
    errors: result.errors,
  }
}

/** @param {number} subscribers @returns {Workload} */
const fanout = (subscribers) => ({
  id: `fanout${subscribers}`,
  title: `fan-out: 1 publisher -> ${subscribers} subscribers, window ${FANOUT_WINDOW}`,
  client: 'fanout',
  servers: [...CONTESTANTS, 'null'],
  params: {
    subscribers,
    window: FANOUT_WINDOW,
    warmupMs: size.warmupMs,
    measureMs: size.measureMs,
    measureMessages: 10_000_000,
    payloadBytes: PAYLOAD_BYTES,
  },
  timeoutMs: 60_000,
  metrics: ({ result, samples }) => {
    const server = serverWindow(samples)
    return {
      deliveredPerSec: result.deliveredPerSec,
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuPerMsg: server.cpuUs / result.delivered,
      frameBytes: result.frameBytes,
      ...loadMetrics(result, server),
    }
  },
  rows: [
    ['deliveredPerSec', '  delivered msg/s', int],
    ['p50', '  latency p50', ms],
    ['p99', '  latency p99', ms],
    ['cpuPerMsg', '  server CPU per delivered msg', us],
    ...LOAD_ROWS,
  ],
})

/**
 * Connect + subscribe CPU and idle memory, every connection subscribed to one shared channel, or
 * each to its own (per-user notification channels: per-channel state is what costs then).
 * @param {'shared' | 'own'} layout
 * @returns {Workload}
 */
const connectWorkload = (layout) => ({
  id: layout === 'shared' ? 'connect' : 'connectOwn',
  title:
    layout === 'shared'
      ? `connect + subscribe (${size.connect} connections, 20 at a time) and idle memory`
      : `connect + subscribe, each connection to its own channel (${size.connect}, 20 at a time), and idle memory`,
  client: 'connect',
  servers: [...CONTESTANTS],
  params: { warmup: 200, cpuConnections: size.connect, memoryCounts: size.memory, concurrency: 20, layout },
  timeoutMs: 120_000,
  metrics: ({ result, samples }) => {
    const server = serverWindow(samples)
    const base = /** @type {Sample} */ (samples['mem:base'])
    /** @type {Metrics} */
    const metrics = {
      cpuPerConn: server.cpuUs / result.cpuConnections,
      connectsPerSec: result.connectsPerSec,
      ...loadMetrics(result, server),
    }
    for (const count of result.counts) {
      const sample = /** @type {Sample} */ (samples[`mem:${count}`])
      metrics[`rss${count}`] = (sample.rss - base.rss) / count
      metrics[`heap${count}`] = (sample.heapUsed - base.heapUsed) / count
    }
    return metrics
  },
  rows: [
    ['cpuPerConn', '  server CPU per connect + subscribe', us],
    ['connectsPerSec', '  connections/s', int],
    ...LOAD_ROWS,
    ...size.memory.flatMap(
      (count) =>
        /** @type {Workload['rows']} */ ([
          [`rss${count}`, `  RSS per idle connection @${count}`, bytes],
          [`heap${count}`, `  JS heap per idle connection @${count}`, bytes],
        ]),
    ),
  ],
})

/** @type {Workload[]} */
const WORKLOADS = [
  fanout(100),
  fanout(1000),
  {
    id: 'latency',
    title: 'latency at window 1 (no queueing), 1000 subscribers',
    client: 'fanout',
    servers: [...CONTESTANTS],
    params: {
      subscribers: 1000,
      window: 1,
      warmupMs: size.warmupMs,
      measureMs: size.measureMs * 2,
      measureMessages: size.latencyMessages,
      payloadBytes: PAYLOAD_BYTES,
    },
    timeoutMs: 60_000,
    metrics: ({ result, samples }) => {
      const server = serverWindow(samples)
      return {
        p50: result.latency.p50,
        p99: result.latency.p99,
        messages: result.messages,
        cpuPerMsg: server.cpuUs / result.delivered,
        ...loadMetrics(result, server),
      }
    },
    rows: [
      ['p50', '  latency p50', ms],
      ['p99', '  latency p99', ms],
      ['messages', '  messages measured', plain],
      ['cpuPerMsg', '  server CPU per delivered msg', us],
      ...LOAD_ROWS,
    ],
  },
  {
    id: 'channels',
    title: 'many channels: 1000 conns on own channel + 1 shared, 10 publishers (window 8 each)',
    client: 'channels',
    servers: [...CONTESTANTS],
    params: {
      connections: 1000,
      publishers: 10,
      window: 8,
      sharedEvery: 1000,
      warmupMs: size.warmupMs,
      measureMs: size.measureMs,
      payloadBytes: PAYLOAD_BYTES,
    },
    timeoutMs: 60_000,
    metrics: ({ result, samples }) => {
      const server = serverWindow(samples)
      return {
        publishesPerSec: result.publishesPerSec,
        deliveredPerSec: result.deliveredPerSec,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuPerMsg: server.cpuUs / result.delivered,
        ...loadMetrics(result, server),
      }
    },
    rows: [
      ['publishesPerSec', '  publishes/s', int],
      ['deliveredPerSec', '  delivered msg/s', int],
      ['p50', '  latency p50', ms],
      ['p99', '  latency p99', ms],
      ['cpuPerMsg', '  server CPU per delivered msg', us],
      ...LOAD_ROWS,
    ],
  },
  {
    id: 'presence',
    title: 'presence churn: 200 members, each updating at 20 Hz (4000 updates/s offered)',
    client: 'presence',
    servers: [...CONTESTANTS],
    params: { members: 200, hz: 20, warmupMs: size.warmupMs, measureMs: size.measureMs },
    timeoutMs: 60_000,
    metrics: ({ result, samples }) => {
      const server = serverWindow(samples)
      return {
        updatesPerSec: result.updatesPerSec,
        deliveredPerSec: result.deliveredPerSec,
        deliveredPct: (result.deliveredPerSec / result.expectedDeliveredPerSec) * 100,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuPerMsg: server.cpuUs / result.delivered,
        cpuPerUpdate: server.cpuUs / ((result.updatesPerSec * result.elapsedMs) / 1000),
        frameBytes: result.frameBytes,
        undelivered: result.undelivered,
        ...loadMetrics(result, server),
      }
    },
    rows: [
      ['updatesPerSec', '  updates sent/s', int],
      ['deliveredPerSec', '  updates delivered/s', int],
      ['deliveredPct', '  delivered / expected', pct],
      ['p50', '  latency p50', ms],
      ['p99', '  latency p99', ms],
      ['cpuPerMsg', '  server CPU per delivered update', us],
      ['cpuPerUpdate', '  server CPU per update (x199)', us],
      ['frameBytes', '  diff frame size (bytes)', plain],
      ...LOAD_ROWS,
    ],
  },
  connectWorkload('shared'),
  connectWorkload('own'),
  scaleOut('scaleout', 1000, FANOUT_WINDOW, 10_000_000),
  scaleOut('scaleout-latency', 100, 1, size.latencyMessages),
]

/**
 * Fan-out across processes: TOPOLOGY_PROCESSES server processes and one redis-server; the publisher
 * on the first process, the subscribers spread over the others, so every delivery crosses Redis.
 * Ours with the Redis store, Socket.IO with @socket.io/redis-adapter, and ours in one process for
 * reference. Reports Redis's CPU and commands beside the servers'.
 * @param {string} id
 * @param {number} subscribers
 * @param {number} window
 * @param {number} measureMessages
 * @returns {Workload}
 */
function scaleOut(id, subscribers, window, measureMessages) {
  return {
    id,
    title:
      `${window === 1 ? 'latency across processes at window 1' : 'fan-out across processes'}: 1 publisher on process 1 -> ` +
      `${subscribers} subscribers on processes 2-${TOPOLOGY_PROCESSES}${window === 1 ? '' : `, window ${window}`}`,
    client: 'fanout',
    servers: ['ours-redis', 'socketio-redis', 'ours'],
    scaleOut: true,
    params: {
      subscribers,
      window,
      warmupMs: size.warmupMs,
      measureMs: window === 1 ? size.measureMs * 2 : size.measureMs,
      measureMessages,
      payloadBytes: PAYLOAD_BYTES,
    },
    timeoutMs: 90_000,
    metrics: ({ result, samples }) => {
      const server = serverWindow(samples)
      const start = /** @type {any} */ (samples.start)
      const end = /** @type {any} */ (samples.end)
      const redis = (/** @type {string} */ key) => (start[key] === undefined ? Number.NaN : end[key] - start[key])
      return {
        deliveredPerSec: result.deliveredPerSec,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuPerMsg: server.cpuUs / result.delivered,
        redisCpuPerMsg: redis('redisCpuUs') / result.delivered,
        roundTripsPerPublish: redis('redisRoundTrips') / result.messages,
        commandsPerPublish: redis('redisCalls') / result.messages,
        ...loadMetrics(result, server),
      }
    },
    rows: [
      ['deliveredPerSec', '  delivered msg/s', int],
      ['p50', '  latency p50', ms],
      ['p99', '  latency p99', ms],
      ['cpuPerMsg', '  Node server CPU per delivered msg (all)', us],
      ['redisCpuPerMsg', '  Redis CPU per delivered msg', us],
      ['roundTripsPerPublish', '  Redis round trips per publish', (n) => (Number.isFinite(n) ? n.toFixed(2) : '—')],
      [
        'commandsPerPublish',
        '  Redis commands per publish (incl. in scripts)',
        (n) => (Number.isFinite(n) ? n.toFixed(1) : '—'),
      ],
      ['serverCpuPct', '  Node server processes CPU (sum)', pct],
      ['clientCpuPct', '  client process CPU', pct],
      ['otherPct', '  other processes on the machine', pct],
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()
const killAll = () => {
  for (const child of children) child.kill('SIGKILL')
}
process.on('exit', killAll)
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

const pinning = (() => {
  if (os.availableParallelism() < 2) return false
  try {
    execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/**
 * @param {string} script relative to bench/
 * @param {number} core
 * @param {string[]} nodeArgs
 * @param {NodeJS.ProcessEnv} env added to this process's environment
 */
function spawnNode(script, core, nodeArgs = [], env = {}) {
  const args = [...nodeArgs, path.join(root, 'bench', script)]
  /** @type {import('node:child_process').SpawnOptions} */
  const options = { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } }
  const child = pinning
    ? spawn('taskset', ['-c', String(core), process.execPath, ...args], options)
    : spawn(process.execPath, args, options)
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

/**
 * @param {string} name
 * @param {string} label for the profile's file name
 */
async function startServer(name, label) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {}
  if (PROFILE) {
    mkdirSync(path.join(resultsDir, 'profiles'), { recursive: true })
    env.BENCH_PROFILE = path.join(resultsDir, 'profiles', `${label}-${name}.cpuprofile`)
  }
  if (HEAP_SNAPSHOT) {
    mkdirSync(path.join(resultsDir, 'profiles'), { recursive: true })
    env.BENCH_HEAP_SNAPSHOT = path.join(resultsDir, 'profiles', `${label}-${name}.heapsnapshot`)
  }
  const child = spawnNode(`servers/${name}.js`, 0, ['--expose-gc'], env)
  /** @type {Map<number, (sample: Sample) => void>} */
  const waiting = new Map()
  let nextId = 0
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} server did not start`)), 15_000)
    child.on('message', (/** @type {any} */ message) => {
      if (message.type === 'ready') {
        clearTimeout(timer)
        resolve(message.port)
      } else if (message.type === 'sample') {
        waiting.get(message.id)?.(message.sample)
        waiting.delete(message.id)
      }
    })
    child.on('exit', (/** @type {number | null} */ code) => reject(new Error(`${name} server exited (${code})`)))
  })
  return {
    port,
    /** @type {number[] | undefined} */
    ports: undefined,
    pids: [child.pid ?? 0],
    /** @param {string} sampleName @returns {Promise<Sample>} */
    sample(sampleName) {
      const id = ++nextId
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} server did not answer a sample`)), 30_000)
        waiting.set(id, (sample) => {
          clearTimeout(timer)
          resolve(sample)
        })
        child.send({ cmd: 'sample', id, name: sampleName, gc: sampleName.startsWith('mem:') })
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ cmd: 'exit' })
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * TOPOLOGY_PROCESSES processes of server `name` sharing one fresh redis-server (persistence off,
 * pinned with the servers): samples add up the processes' CPU and memory, with Redis's CPU time and
 * command counts (`INFO commandstats`) beside.
 * @param {string} name
 * @param {string} label
 */
async function startTopology(name, label) {
  const redis = await startRedisServer()
  try {
    if (pinning && redis.pid) execFileSync('taskset', ['-cp', '0', String(redis.pid)], { stdio: 'ignore' })
    process.env.REDIS_URL = redis.url
    const servers = []
    try {
      for (let i = 0; i < TOPOLOGY_PROCESSES; i++) servers.push(await startServer(name, `${label}-${i + 1}`))
    } finally {
      delete process.env.REDIS_URL
    }
    return {
      port: /** @type {number} */ (servers[0]?.port),
      ports: servers.map((server) => server.port),
      pids: [...servers.flatMap((server) => server.pids), redis.pid ?? 0],
      /** @param {string} sampleName @returns {Promise<Sample>} */
      async sample(sampleName) {
        const [parts, stats] = await Promise.all([
          Promise.all(servers.map((server) => server.sample(sampleName))),
          redis.cli(['INFO', 'commandstats']),
        ])
        const sum = (/** @type {keyof Sample} */ key) =>
          parts.reduce((total, part) => total + Number(part[key] ?? 0), 0)
        const calls = (/** @type {string} */ command) =>
          Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
        const total = [...stats.matchAll(/calls=(\d+)/g)].reduce((all, match) => all + Number(match[1]), 0)
        return {
          .../** @type {Sample} */ (parts[0]),
          cpuUs: sum('cpuUs'),
          rss: sum('rss'),
          heapUsed: sum('heapUsed'),
          // @ts-expect-error extra fields of scale-out samples
          redisCpuUs: processTicks(redis.pid ?? 0) * 10_000,
          redisCalls: total,
          redisRoundTrips: calls('evalsha') + calls('eval') + calls('publish'),
        }
      },
      async stop() {
        await Promise.all(servers.map((server) => server.stop()))
        await redis.close()
      },
    }
  } catch (error) {
    await redis.close()
    throw error
  }
}

/** utime + stime of one process, in ticks (10 ms). @param {number} pid */
function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return Number.NaN
  }
}

/**
 * @param {Workload} workload
 * @param {string} server
 * @returns {Promise<RunOutput>}
 */
async function runOne(workload, server) {
  const srv = server.endsWith('-redis')
    ? await startTopology(server.slice(0, -'-redis'.length), workload.id)
    : await startServer(server, workload.id)
  const client = spawnNode(`clients/${workload.client}.js`, 1)
  try {
    return await new Promise((resolve, reject) => {
      /** @type {Record<string, Sample>} */
      const samples = {}
      const timer = setTimeout(() => {
        client.kill('SIGKILL')
        reject(new Error(`timed out after ${workload.timeoutMs} ms`))
      }, workload.timeoutMs)
      client.on('message', async (/** @type {any} */ message) => {
        try {
          if (message.type === 'booted') {
            const protocol = server.replace(/-redis$/, '')
            client.send({
              cmd: 'start',
              params: { ...workload.params, server: protocol, port: srv.port, ports: srv.ports },
            })
          } else if (message.type === 'mark') {
            const sample = await srv.sample(message.name)
            const ours = new Set([process.pid, ...srv.pids, client.pid ?? 0])
            samples[message.name] = { ...sample, cores: coreTicks(), others: otherProcessTicks(ours) }
            client.send({ type: 'marked', name: message.name })
          } else if (message.type === 'result') {
            clearTimeout(timer)
            resolve({ result: message.result, samples })
          } else if (message.type === 'error') {
            clearTimeout(timer)
            reject(new Error(message.message))
          }
        } catch (error) {
          reject(error)
        }
      })
      client.on('exit', (/** @type {number | null} */ code) => {
        clearTimeout(timer)
        reject(new Error(`client exited (${code}) without a result`))
      })
    })
  } finally {
    if (client.exitCode === null && client.signalCode === null) {
      const exited = new Promise((resolve) => client.once('exit', resolve))
      const timer = setTimeout(() => client.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    await srv.stop()
  }
}

/**
 * Busy and total ticks per core from /proc/stat (Linux; null elsewhere). Unlike process CPU time,
 * this includes kernel work not charged to a process (softirq: loopback TCP delivery), so it
 * shows whether a core, not just a process, was saturated.
 * @returns {Array<{busy: number, total: number}> | null}
 */
function coreTicks() {
  try {
    return readFileSync('/proc/stat', 'latin1')
      .split('\n')
      .filter((l) => /^cpu\d/.test(l))
      .map((l) => {
        const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = l
          .split(/\s+/)
          .slice(1)
          .map(Number)
        return {
          busy: user + nice + system + irq + softirq + steal,
          total: user + nice + system + idle + iowait + irq + softirq + steal,
        }
      })
  } catch {
    return null
  }
}

/**
 * CPU ticks used by every other process on the machine (utime + stime, plus cutime + cstime so
 * that short-lived children, such as test workers, count when their parent reaps them). Linux only.
 * @param {Set<number>} exclude
 * @returns {number | null}
 */
function otherProcessTicks(exclude) {
  try {
    let ticks = 0
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || exclude.has(Number(name))) continue
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
      } catch {
        // exited meanwhile
      }
    }
    return ticks
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// Run

/** @param {number[]} values */
function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? /** @type {number} */ (sorted[mid])
    : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2
}

const workloads = WORKLOADS.filter((w) => !ONLY || ONLY.includes(w.id))
const started = performance.now()
console.log(
  `TanStack Realtime benchmark (${QUICK ? 'quick' : 'full'}, ${REPS} rep${REPS > 1 ? 's' : ''}) — node ${process.version}, ` +
    `${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim()}), ` +
    `${pinning ? 'servers pinned to core 0, clients to core 1 (taskset)' : 'no taskset: processes not pinned'}`,
)

/** @type {Record<string, Record<string, Metrics[]>>} */
const collected = {}
/** @type {Array<{rep: number, workload: string, server: string, output?: RunOutput, error?: string}>} */
const raw = []
for (let rep = 0; rep < REPS; rep++) {
  for (const workload of workloads) {
    // Rotate the server order every repetition so that drift does not favour one server.
    const order = workload.servers.map((_, k) => workload.servers[(k + rep) % workload.servers.length])
    for (const server of /** @type {string[]} */ (order)) {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const t0 = performance.now()
        process.stdout.write(
          `  [rep ${rep + 1}/${REPS}] ${workload.id.padEnd(10)} ${NAMES[/** @type {keyof NAMES} */ (server)].padEnd(13)} `,
        )
        try {
          const output = await runOne(workload, server)
          const metrics = workload.metrics(output)
          const retry = attempt < MAX_ATTEMPTS && performance.now() - started < RETRY_BUDGET_MS
          if (metrics.otherPct > NOISE_PCT && retry) {
            console.log(`noisy: other processes used ${metrics.otherPct.toFixed(0)} % of a core; again`)
            await new Promise((resolve) => setTimeout(resolve, 2000))
            continue
          }
          const byServer = collected[workload.id] ?? {}
          collected[workload.id] = byServer
          const runs = byServer[server] ?? []
          byServer[server] = runs
          runs.push(metrics)
          raw.push({ rep, workload: workload.id, server, output })
          const headline = metrics.deliveredPerSec ?? metrics.p99 ?? metrics.cpuPerConn
          const notes = `${metrics.errors ? `  (${metrics.errors} errors)` : ''}${metrics.otherPct > NOISE_PCT ? `  (noisy: others ${plain(metrics.otherPct)} %)` : ''}`
          console.log(
            `${((performance.now() - t0) / 1000).toFixed(1)} s  ${headline !== undefined ? plain(headline) : ''}${notes}`,
          )
        } catch (error) {
          raw.push({ rep, workload: workload.id, server, error: String(error) })
          console.log(`FAILED: ${String(error).split('\n')[0]}`)
        }
        break
      }
    }
  }
}

/** @type {Record<string, Record<string, Metrics>>} medians per workload and server */
const results = {}
for (const [id, byServer] of Object.entries(collected)) {
  for (const [server, runs] of Object.entries(byServer)) {
    /** @type {Metrics} */
    const metrics = {}
    for (const key of Object.keys(runs[0] ?? {})) metrics[key] = median(runs.map((m) => /** @type {number} */ (m[key])))
    results[id] = { ...results[id], [server]: metrics }
  }
}

/** One server's metric over another's in a workload (NaN when either is missing). @param {string} id @param {string} key @param {string} a @param {string} b */
const ratioOf = (id, key, a, b) => {
  const one = results[id]?.[a]?.[key]
  const two = results[id]?.[b]?.[key]
  return one !== undefined && two !== undefined ? one / two : Number.NaN
}
/** Ours over `other`. @param {string} id @param {string} key @param {string} other */
const ratio = (id, key, other) => ratioOf(id, key, 'ours', other)
const x = (/** @type {number} */ n) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '—')

/**
 * A text table of some workloads' metrics: the header, then each measured workload's title and a
 * line per metric, whose cells `cells` picks (`cell(server)`: the server's value, formatted;
 * `versus(a, b)`: a's over b's).
 * @param {number[]} widths the columns' widths: the first column left-aligned, the others right-aligned
 * @param {string[]} header
 * @param {Workload[]} of
 * @param {(cell: (server: string) => string, versus: (a: string, b: string) => string) => string[]} cells
 */
function renderTable(widths, header, of, cells) {
  /** @param {string[]} row */
  const line = (row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[i] ?? 0))).join('')
  const lines = [line(header), '-'.repeat(widths.reduce((a, b) => a + b, 0))]
  for (const workload of of) {
    const byServer = results[workload.id]
    if (!byServer) continue
    lines.push(workload.title)
    for (const [key, label, format] of workload.rows) {
      /** @param {string} server */
      const cell = (server) => {
        const value = byServer[server]?.[key]
        return value === undefined ? '' : format(value)
      }
      lines.push(line([label, ...cells(cell, (a, b) => x(ratioOf(workload.id, key, a, b)))]))
    }
  }
  return lines
}

const table = renderTable(
  [50, 14, 14, 14, 9, 9, 14],
  ['workload / metric (median of reps)', 'ours', 'raw ws', 'Socket.IO', 'ours/ws', 'ours/sio', 'null (check)'],
  workloads.filter((w) => !w.scaleOut),
  (cell, versus) => [
    cell('ours'),
    cell('ws'),
    cell('socketio'),
    versus('ours', 'ws'),
    versus('ours', 'socketio'),
    cell('null'),
  ],
)

/** Ours on several processes against Socket.IO on as many, and against ours in one process. */
const scaleTable = renderTable(
  [50, 15, 15, 10, 16],
  ['scale-out: 3 processes + 1 Redis (median of reps)', 'ours x3+Redis', 'SIO x3+Redis', 'ours/sio', 'ours, 1 process'],
  workloads.filter((w) => w.scaleOut),
  (cell, versus) => [cell('ours-redis'), cell('socketio-redis'), versus('ours-redis', 'socketio-redis'), cell('ours')],
)

const bundles = SKIP_BUNDLES ? [] : await measureBundles()
const bundle = (/** @type {string} */ id) => bundles.find((b) => b.id === id)?.gzipped ?? null

// Targets from the issue; each compares numbers from this run only.
const presenceVsFanout =
  (results.presence?.ours?.cpuPerMsg ?? Number.NaN) / (results.fanout100?.ours?.cpuPerMsg ?? Number.NaN)
/** @type {Array<{target: string, value: string, met: boolean | null}>} */
const targets = []
/**
 * @param {string} target
 * @param {number | null} value
 * @param {(v: number) => boolean} test
 * @param {(v: number) => string} format
 */
const check = (target, value, test, format = x) =>
  targets.push({
    target,
    value: value === null || !Number.isFinite(value) ? 'not measured' : format(value),
    met: value === null || !Number.isFinite(value) ? null : test(value),
  })
for (const id of ['fanout100', 'fanout1000']) {
  check(`${id} throughput ours/ws >= 2.2x`, ratio(id, 'deliveredPerSec', 'ws'), (v) => v >= 2.2)
  check(`${id} throughput ours/socket.io >= 2.5x`, ratio(id, 'deliveredPerSec', 'socketio'), (v) => v >= 2.5)
}
check('p99 at window 1: ours/ws <= 1', ratio('latency', 'p99', 'ws'), (v) => v <= 1)
for (const [id, layout] of [
  ['connect', 'shared channel'],
  ['connectOwn', 'own channel'],
]) {
  for (const count of size.memory) {
    check(`idle RSS per connection @${count} (${layout}): ours/ws <= 1`, ratio(id, `rss${count}`, 'ws'), (v) => v <= 1)
  }
}
check('connect + subscribe CPU: ours/ws <= 1.2x', ratio('connect', 'cpuPerConn', 'ws'), (v) => v <= 1.2)
check('presence: CPU per delivered diff / CPU per fan-out delivery (S=100) <= 1.5', presenceVsFanout, (v) => v <= 1.5)
check(
  'presence diff frame: ours / raw ws (same patch, minimal envelope) <= 1.25x',
  ratio('presence', 'frameBytes', 'ws'),
  (v) => v <= 1.25,
)
check(
  'scale-out throughput (3 processes + Redis): ours/Socket.IO >= 2x',
  ratioOf('scaleout', 'deliveredPerSec', 'ours-redis', 'socketio-redis'),
  (v) => v >= 2,
)
check(
  'cross-process p50 (window 1) - single-process p50 <= 1 ms',
  (results['scaleout-latency']?.['ours-redis']?.p50 ?? Number.NaN) -
    (results['scaleout-latency']?.ours?.p50 ?? Number.NaN),
  (v) => v <= 1,
  ms,
)
check(
  'Redis round trips per publish (ours) = 1',
  results.scaleout?.['ours-redis']?.roundTripsPerPublish ?? Number.NaN,
  (v) => v < 1.05,
  (v) => v.toFixed(2),
)
const kb = (/** @type {number} */ v) => `${(v / 1024).toFixed(2)} KB`
check('subscribe + publish (client + Node transport) <= 5 KB min+gz', bundle('core'), (v) => v <= BUDGETS.core, kb)
check('with presence <= 6 KB min+gz', bundle('presence'), (v) => v <= BUDGETS.presence, kb)
check('React adapter <= 1.5 KB min+gz', bundle('react'), (v) => v <= BUDGETS.react, kb)
for (const [id, name] of /** @type {const} */ ([
  ['vue', 'Vue'],
  ['solid', 'Solid'],
  ['svelte', 'Svelte'],
]))
  check(`${name} adapter <= 1.5 KB min+gz`, bundle(id), (v) => v <= BUDGETS[id], kb)

const totalS = (performance.now() - started) / 1000
console.log(`\n${table.join('\n')}`)
if (scaleTable.length > 2) console.log(`\n${scaleTable.join('\n')}`)
console.log('\nnull (check): a minimal hand-written server; the same clients reaching more msg/s against it shows they')
console.log('were not the bottleneck. CPU % is of one core; a server near 100 % is the limit.')
if (bundles.length) console.log(`\n${formatBundles(bundles)}`)
console.log('\nTargets')
for (const t of targets)
  console.log(`  ${t.met === null ? '  n/a' : t.met ? '  met' : 'MISSED'}  ${t.target.padEnd(70)} ${t.value}`)
console.log(`\nTotal ${totalS.toFixed(0)} s`)

mkdirSync(resultsDir, { recursive: true })
const file = path.join(resultsDir, 'latest.json')
const json = `${JSON.stringify(
  {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    reps: REPS,
    node: process.version,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    pinned: pinning,
    durationSec: totalS,
    params: Object.fromEntries(workloads.map((w) => [w.id, w.params])),
    results,
    ratios: Object.fromEntries(
      Object.entries(results).map(([id, byServer]) => [
        id,
        Object.fromEntries(
          Object.keys(byServer.ours ?? {}).map((key) => [
            key,
            { ws: ratio(id, key, 'ws'), socketio: ratio(id, key, 'socketio') },
          ]),
        ),
      ]),
    ),
    targets,
    bundles,
    table: table.join('\n'),
    scaleOutTable: scaleTable.join('\n'),
    runs: raw.map(({ output, ...run }) => ({ ...run, result: output?.result })),
  },
  null,
  2,
)}\n`
writeFileSync(file, json)
// A dated copy too, so that a later --quick does not erase a full run.
const dated = path.join(
  resultsDir,
  `${QUICK ? 'quick' : 'full'}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
)
writeFileSync(dated, json)
console.log(`Wrote ${path.relative(root, file)} and ${path.relative(root, dated)}`)
process.exit(raw.some((r) => r.error) ? 1 : 0)
