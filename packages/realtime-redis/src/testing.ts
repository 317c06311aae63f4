/**
 * `@tanstack/realtime-redis/testing`: a real `redis-server` (or a three-master Redis Cluster) on
 * 127.0.0.1, started on free ports with persistence off, for tests, benchmarks and local examples.
 * It needs the `redis-server` and `redis-cli` programs (Debian: `apt-get install redis-server`).
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The `redis-server` program. Default `REDIS_SERVER` from the environment, else `redis-server` on the `PATH`. */
  command?: string
  /** A port to listen on. Default: a free one. */
  port?: number
  /** More `redis-server` arguments, such as `['--maxmemory', '64mb']`. */
  args?: string[]
  /** How long to wait for the server to answer. Default 10 000 ms. */
  startTimeoutMs?: number
}

/** A `redis-server` process started by {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** The process id of the current `redis-server` (it changes on `restart()`). */
  readonly pid: number | undefined
  /** Stops the server (SIGKILL: nothing is saved) and waits for it to exit. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty (persistence is off). */
  restart(): Promise<void>
  /** Freezes the server (SIGSTOP): it keeps its sockets open and answers nothing. */
  pause(): void
  /** Unfreezes it (SIGCONT). */
  resume(): void
  /** Sends one command with `redis-cli` and returns its output (for example `['DBSIZE']`). */
  cli(args: string[]): Promise<string>
  /** Stops the server and removes its working directory. */
  close(): Promise<void>
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (!address || typeof address === 'string') throw new Error('No port was assigned.')
  return address.port
}

/** Resolves once something accepts TCP connections and answers PING with PONG on `port`, else rejects at the deadline. */
async function waitForPong(port: number, deadline: number, exited: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (exited()) throw new Error(`redis-server on port ${port} exited while starting.`)
    if (await ping(port)) return
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`redis-server on port ${port} did not answer PING in time.`)
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(String(data).startsWith('+PONG')))
  })
}

const cliCommand = () => process.env.REDIS_CLI ?? 'redis-cli'

async function cli(port: number, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(cliCommand(), ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 15_000,
  })
  return stdout.trim()
}

/**
 * Starts a `redis-server` on 127.0.0.1 with persistence off (no RDB, no AOF), in a temporary working
 * directory, and resolves once it answers PING.
 *
 * @throws when the program is missing or the server does not answer within `startTimeoutMs`.
 * @example
 * ```ts
 * const redis = await startRedisServer()
 * const store = createRedisStore({ url: redis.url })
 * // ...
 * await store.close()
 * await redis.close()
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // A free port may be taken by someone else before redis-server binds it: then another one (3 tries).
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort())
    try {
      return await startOn(port, options)
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) throw error
    }
  }
}

async function startOn(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const command = options.command ?? process.env.REDIS_SERVER ?? 'redis-server'
  const dir = mkdtempSync(join(tmpdir(), 'realtime-redis-'))
  const timeoutMs = options.startTimeoutMs ?? 10_000
  let child: ChildProcess | undefined
  let exited = true

  const start = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      ...(options.args ?? []),
    ]
    const current = spawn(command, args, { stdio: 'ignore' })
    child = current
    exited = false
    current.once('exit', () => {
      if (child === current) exited = true
    })
    const failed = once(current, 'error').then(([error]) => {
      exited = true
      throw error
    })
    await Promise.race([waitForPong(port, Date.now() + timeoutMs, () => exited), failed])
  }

  const kill = async () => {
    const current = child
    if (!current || exited) return
    const done = once(current, 'exit')
    current.kill('SIGKILL')
    await done
  }

  try {
    await start()
  } catch (error) {
    await kill()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid
    },
    kill,
    async restart() {
      await kill()
      await start()
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    cli: (args) => cli(port, args),
    async close() {
      child?.kill('SIGCONT')
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A local Redis Cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** One server of each master, such as `redis://127.0.0.1:<port>` (any of them bootstraps a cluster client). */
  readonly urls: string[]
  readonly nodes: RedisServer[]
  /** Stops every node and removes their directories. */
  close(): Promise<void>
}

/**
 * Starts a Redis Cluster of `masters` masters (default 3) and no replicas on 127.0.0.1, persistence
 * off, and resolves once every node reports `cluster_state:ok`.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster()
 * const store = createRedisStore({ cluster: { rootNodes: cluster.urls.map((url) => ({ url })) } })
 * ```
 */
export async function startRedisCluster(options: { masters?: number; command?: string } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const nodes: RedisServer[] = []
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedisServer({
          ...(options.command && { command: options.command }),
          args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '3000', '--cluster-config-file', 'nodes.conf'],
        }),
      )
    }
    const first = nodes[0] as RedisServer
    await first.cli([
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    const deadline = Date.now() + 20_000
    for (const node of nodes) {
      for (let attempt = 0; attempt < 1000; attempt++) {
        if ((await node.cli(['CLUSTER', 'INFO'])).includes('cluster_state:ok')) break
        if (Date.now() > deadline) throw new Error('The Redis Cluster did not become ready in time.')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()))
    throw error
  }
  return {
    urls: nodes.map((node) => node.url),
    nodes,
    close: async () => {
      await Promise.all(nodes.map((node) => node.close()))
    },
  }
}
