/**
 * Real Node server processes sharing one Redis, for the multi-process tests: each runs
 * server-process.js (`createNodeServer` + `createRedisStore`) and is driven over IPC. The harness
 * spreads clients across them (round robin), so the conformance suite's clients, publishers and
 * observers sit on different processes.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import type { ChannelKey, PresenceMember, StreamPosition } from '@tanstack/realtime'
import { createRealtimeClient, errorFromCode, RealtimeError } from '@tanstack/realtime'
import type { HistoryMessage, HistoryOptions } from '@tanstack/realtime/server'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import type { RedisStoreOptions } from '@tanstack/realtime-redis'
import type { Harness, HarnessOptions, HarnessServer } from '../../../realtime/tests/conformance/harness.js'
import { closeClients, makeClient } from '../../../realtime-preset-node/tests/helpers.js'

const script = new URL('./server-process.js', import.meta.url)

/** Where the processes' Redis is. */
export type RedisTarget = { url: string } | { cluster: string[] }

/** Callbacks of the test process that a server process calls over IPC. */
interface Callbacks {
  authorize?: HarnessOptions['authorize']
  identify?: HarnessOptions['identify']
  onError?: HarnessOptions['onError']
  collection?: HarnessOptions['collection']
}

/** Options of one server start: the harness options (callbacks run here), the Redis store's settings. */
export interface ProcessServerOptions extends HarnessOptions {
  store?: RedisStoreOptions
  /** Serve a `todos` collection whose writes all processes apply to one shared list in Redis (`test:applied`). */
  sharedTodos?: boolean
}

/** One Node server process. */
export class ServerProcess {
  readonly child: ChildProcess
  #lastRequest = 0
  readonly #replies = new Map<number, (reply: any) => void>()
  #callbacks: Callbacks = {}
  port = 0
  /** Set once the process exited (killed, or crashed: a test then fails on its next request). */
  exited = false

  constructor() {
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('exit', () => {
      this.exited = true
      for (const reply of this.#replies.values()) reply({ error: { message: 'server process exited' } })
      this.#replies.clear()
    })
    this.child.on('message', (message: any) => this.#message(message))
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Sends a request and waits for its reply; a reply with `error` rejects, with a RealtimeError when it has a code. */
  async request(message: Record<string, unknown>): Promise<any> {
    if (this.exited) throw new Error('server process exited')
    const id = ++this.#lastRequest
    const reply = await new Promise<any>((resolve) => {
      this.#replies.set(id, resolve)
      this.child.send({ ...message, id })
    })
    if (reply.error) {
      const { code, message: text } = reply.error
      throw code ? errorFromCode(code, text) : new Error(text)
    }
    return reply
  }

  /** Starts a server (on `port`, or a free one), its callbacks answered here. */
  async start(redis: RedisTarget, options: ProcessServerOptions, port = 0): Promise<void> {
    const { authorize, identify, onError, collection, ...rest } = options
    this.#callbacks = { authorize, identify, onError, collection }
    const reply = await this.request({
      t: 'start',
      port,
      options: {
        ...rest,
        redis,
        authorize: authorize !== undefined,
        identify: identify !== undefined,
        ...(collection && { collection: { write: collection.write !== undefined } }),
      },
    })
    this.port = reply.port
  }

  stop(): Promise<void> {
    return this.exited ? Promise.resolve() : this.request({ t: 'stop' }).then(() => {})
  }

  /** Kills the process without warning (SIGKILL). */
  async kill(): Promise<void> {
    if (this.exited) return
    const exit = once(this.child, 'exit')
    this.child.kill('SIGKILL')
    await exit
  }

  /** Stops the server and ends the process. */
  async exit(): Promise<void> {
    if (this.exited) return
    const exit = once(this.child, 'exit')
    this.child.send({ t: 'exit' })
    await exit
  }

  async publish(channel: ChannelKey, data: unknown): Promise<StreamPosition> {
    return (await this.request({ t: 'publish', channel, data })).position
  }

  /** This process's server-side read of the channel's presence members. */
  async getPresence(channel: ChannelKey): Promise<PresenceMember[]> {
    return (await this.request({ t: 'presence', channel })).members
  }

  /** This process's server-side read of the channel's kept messages. */
  async getHistory(channel: ChannelKey, options?: HistoryOptions): Promise<HistoryMessage[]> {
    return (await this.request({ t: 'history', channel, options })).messages
  }

  async subscriberCount(channel: ChannelKey): Promise<number> {
    return (await this.request({ t: 'subscriberCount', channel })).count
  }

  /** This process's open connections. */
  async connections(): Promise<number> {
    return (await this.request({ t: 'stats' })).stats?.connections ?? 0
  }

  #message(message: any) {
    if (message.t === 'reply') {
      this.#replies.get(message.id)?.(message)
      this.#replies.delete(message.id)
    } else if (message.t === 'error') {
      const error = new Error(`[server ${this.port}] ${message.message}`)
      if (this.#callbacks.onError) this.#callbacks.onError(error)
      else console.error(error)
    } else if (message.t === 'call') {
      this.#call(message.id, message.method, message.args)
    }
  }

  /**
   * Runs a callback for the server process and answers it. A throw is reported here (the server
   * does not report it again), but a collection's RealtimeError, which the server answers with its
   * code without reporting it.
   */
  async #call(id: number, method: string, args: any[]) {
    const { authorize, identify, onError, collection } = this.#callbacks
    try {
      let value: unknown
      if (method === 'authorize') value = await authorize?.(args[0], args[1])
      else if (method === 'identify') value = identify?.(args[0])
      else if (method === 'load') value = await collection?.load(args[0], args[1])
      else if (method === 'write') value = await collection?.write?.(args[0], args[1])
      this.child.send({ t: 'result', id, value: value ?? null })
    } catch (error) {
      const typed = error instanceof RealtimeError && (method === 'load' || method === 'write')
      if (!typed) onError?.(error)
      const { message, code } = error as RealtimeError
      this.child.send({ t: 'result', id, error: String(message ?? error), ...(typed && { code }) })
    }
  }
}

/** Starts `count` server processes (without servers: `start()` starts one in each). */
export async function startProcesses(count: number): Promise<ServerProcess[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const process = new ServerProcess()
      const [message] = (await once(process.child, 'message')) as [{ t: string }]
      if (message.t !== 'ready') throw new Error('server process did not start')
      return process
    }),
  )
}

/** What a harness of several processes needs from its Redis. */
export interface HarnessRedis {
  readonly target: RedisTarget
  /** Empties Redis (between tests). */
  flush(): Promise<void>
  /** Restarts Redis empty (with the servers, for the suite's "server restart"). */
  restart(): Promise<void>
}

/**
 * The conformance harness over several server processes on one Redis: every `start()` starts a
 * server in each process (Redis emptied first), and clients, raw sockets and server-side publishes
 * go to the processes in turn. `restart()` restarts Redis too (empty, as without persistence), so
 * clients see a new epoch as after a single server's restart.
 */
export function processesHarness(
  name: string,
  processes: () => ServerProcess[],
  redis: () => HarnessRedis,
  store: RedisStoreOptions = {},
): Harness {
  return {
    name,
    closeClients,
    async start(options = {}) {
      const all = processes()
      await redis().flush()
      await Promise.all(all.map((process) => process.start(redis().target, { ...options, store })))
      let turn = 0
      const next = () => all[turn++ % all.length] as ServerProcess
      const first = all[0] as ServerProcess
      const server: HarnessServer = {
        get url() {
          return first.url
        },
        get port() {
          return first.port
        },
        transport: (token, url = next().url) =>
          nodeTransport({ url, getAuthToken: typeof token === 'function' ? token : () => token }),
        client(token, { url = next().url, ...clientOptions } = {}) {
          if (typeof token === 'string') return makeClient({ url }, token, clientOptions)
          return createRealtimeClient({ transport: nodeTransport({ url, getAuthToken: token }), ...clientOptions })
        },
        socketUrl: (_channel, query) => `${next().url}/_realtime?${query}`,
        publish: (channel, data) => next().publish(channel, data),
        // Every process reads: each must answer what the clients (on all the processes) see.
        getPresence: (channel) => agreed(all.map((process) => process.getPresence(channel))),
        getHistory: (channel, options) => agreed(all.map((process) => process.getHistory(channel, options))),
        subscriberCount: async (channel) =>
          (await Promise.all(all.map((process) => process.subscriberCount(channel)))).reduce((a, b) => a + b, 0),
        stop: async () => {
          await Promise.all(all.map((process) => process.stop()))
        },
        restart: async () => {
          await redis().restart()
          await Promise.all(all.map((process) => process.start(redis().target, { ...options, store }, process.port)))
        },
      }
      return server
    },
  }
}

/** The one answer every process gave. @throws {Error} when two processes answered differently. */
async function agreed<T>(answers: Promise<T>[]): Promise<T> {
  const [first, ...others] = await Promise.all(answers)
  for (const other of others) {
    if (JSON.stringify(other) !== JSON.stringify(first)) {
      throw new Error(`The processes disagree: ${JSON.stringify(first)} and ${JSON.stringify(other)}.`)
    }
  }
  return first as T
}
