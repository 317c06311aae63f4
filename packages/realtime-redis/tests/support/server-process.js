// @ts-check
/**
 * One Node server process of the multi-process tests: `createNodeServer` with a Redis store on a real
 * HTTP server on 127.0.0.1, driven by its parent over IPC (see processes.ts). Callbacks the tests
 * write (`authorize`, the identity of a token) run in the parent: this process asks it over IPC.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import { createClient } from '@redis/client'
import { errorFromCode } from '@tanstack/realtime'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { createRedisStore } from '@tanstack/realtime-redis'
import { HOOK_TIMEOUT_MS, schemaChannels } from '../../../realtime/tests/conformance/schema-channels.js'

/** An error raised by a callback in the parent: the parent reported it already. */
class RemoteError extends Error {
  remote = true
}

/** @type {{ http: import('node:http').Server, realtime: import('@tanstack/realtime-preset-node').NodeRealtime<string>, store: import('@tanstack/realtime-redis').RedisChannelStore } | undefined} */
let current
/** @type {Map<number, { resolve: (value: any) => void, reject: (error: Error) => void }>} */
const calls = new Map()
let lastCall = 0

/** @param {any} message */
function send(message) {
  if (process.connected) process.send?.(message)
}

/**
 * Calls a callback of the parent.
 * @param {string} method
 * @param {unknown[]} args
 * @returns {Promise<any>}
 */
function callParent(method, args) {
  return new Promise((resolve, reject) => {
    const id = ++lastCall
    calls.set(id, { resolve, reject })
    send({ t: 'call', id, method, args })
  })
}

/** @param {import('node:http').IncomingMessage} req */
function tokenOf(req) {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

/**
 * @param {any} options
 * @param {number} port
 */
async function start(options, port) {
  const {
    redis,
    store: storeOptions = {},
    identify,
    authorize,
    historySize,
    sharedTodos,
    collection,
    ...serverOptions
  } = options
  const store = createRedisStore({
    // The engine's historySize applies to its default store: here it is the Redis store's.
    ...(historySize !== undefined && { historySize }),
    ...(redis.cluster
      ? { cluster: { rootNodes: redis.cluster.map((/** @type {string} */ url) => ({ url })) } }
      : { url: redis.url }),
    ...storeOptions,
    onError: () => {}, // outages are what the chaos tests make; requests report them
  })
  /** @type {import('@tanstack/realtime-preset-node').NodeRealtime<string>} */
  const realtime = createNodeServer({
    presenceGraceMs: 0,
    channels: schemaChannels((channel, data) => realtime.publish(channel, data)),
    hookTimeoutMs: HOOK_TIMEOUT_MS,
    ...serverOptions,
    store,
    getAuthToken: identify ? (req) => callParent('identify', [tokenOf(req)]) : tokenOf,
    ...(authorize && {
      authorize: (/** @type {string} */ userId, /** @type {unknown} */ channel) =>
        callParent('authorize', [userId, channel]),
    }),
    onError: (/** @type {any} */ error) => {
      if (!error?.remote) send({ t: 'error', message: String(error?.stack ?? error) })
    },
    ...(sharedTodos && { collections: { todos: await sharedTodoStore(redis.url) } }),
    // The test's collection, in the parent (as a real source reaches its database over I/O).
    ...(collection && {
      collections: {
        todos: {
          load: (/** @type {unknown} */ channel, /** @type {unknown} */ identity) =>
            callParent('load', [channel, identity]),
          ...(collection.write && {
            write: (/** @type {unknown} */ ops, /** @type {unknown} */ context) => callParent('write', [ops, context]),
          }),
        },
      },
    }),
  })
  const http = createServer((_req, res) => res.writeHead(200).end('ok'))
  http.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
  http.listen(port, '127.0.0.1')
  await once(http, 'listening')
  current = { http, realtime, store }
  const address = http.address()
  return { port: typeof address === 'object' && address ? address.port : 0 }
}

/**
 * A `todos` collection whose "database" all the processes share: each applied write is appended to the
 * Redis list `test:applied` (the order the database saw), then the handler takes a little while to
 * return (as a real database call would), so writes of two processes overlap.
 * @param {string} url
 */
async function sharedTodoStore(url) {
  const db = createClient({ url })
  await db.connect()
  closers.push(() => db.close())
  return {
    load: () => [],
    /** @param {Array<{ type: string, key: string | number, value?: Record<string, unknown> }>} ops */
    async write(ops) {
      for (const op of ops) await db.sendCommand(['RPUSH', 'test:applied', JSON.stringify(op.value ?? null)])
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
      return undefined
    },
  }
}

/** @type {Array<() => Promise<unknown>>} */
const closers = []

async function stop() {
  const server = current
  current = undefined
  if (!server) return {}
  await server.realtime.close()
  await Promise.all(closers.splice(0).map((close) => close()))
  server.http.closeAllConnections()
  await new Promise((resolve) => server.http.close(() => resolve(undefined)))
  return {}
}

/** The running server. @throws {Error} when none is. */
function started() {
  if (!current) throw new Error('not started')
  return current
}

/** @param {any} message */
async function handle(message) {
  switch (message.t) {
    case 'start':
      return start(message.options, message.port)
    case 'stop':
      return stop()
    case 'publish':
      return { position: await started().realtime.publish(message.channel, message.data) }
    case 'presence':
      return { members: await started().realtime.getPresence(message.channel) }
    case 'history':
      return { messages: await started().realtime.getHistory(message.channel, message.options) }
    case 'subscriberCount':
      return { count: current?.realtime.engine.subscriberCount(message.channel) ?? 0 }
    case 'stats':
      return { stats: current?.realtime.engine.stats(), channels: current?.store.feeds ?? 0 }
    default:
      throw new Error(`unknown request ${message.t}`)
  }
}

process.on('message', (/** @type {any} */ message) => {
  if (message.t === 'result') {
    const call = calls.get(message.id)
    calls.delete(message.id)
    // A collection's RealtimeError keeps its code; anything else was reported by the parent.
    if (message.code !== undefined) call?.reject(errorFromCode(message.code, message.error))
    else if (message.error !== undefined) call?.reject(new RemoteError(message.error))
    else call?.resolve(message.value)
    return
  }
  if (message.t === 'exit') {
    stop().finally(() => process.exit(0))
    return
  }
  handle(message).then(
    (value) => send({ t: 'reply', id: message.id, ...value }),
    (/** @type {any} */ error) =>
      send({
        t: 'reply',
        id: message.id,
        error: { code: error?.code, name: error?.name, message: String(error?.message) },
      }),
  )
})
process.on('disconnect', () => process.exit(0))
send({ t: 'ready' })
