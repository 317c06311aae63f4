import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net'
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '@tanstack/realtime'
import {
  createNodeServer,
  type NodeRealtime,
  type NodeServerOptions,
  nodeTransport,
} from '@tanstack/realtime-preset-node'
import { WebSocket } from 'ws'

export interface TestServer {
  http: Server
  realtime: NodeRealtime<string>
  port: number
  url: string
  /** Stops the realtime server and the HTTP server (clients see 1001 and start reconnecting). */
  stop(): Promise<void>
  /** Starts the same thing again on the same port (a server restart). */
  restart(): Promise<void>
}

export type TestServerOptions = Partial<NodeServerOptions<string>>

/** The user id comes from the `token` query parameter, as the seed's Workers example does. */
export function tokenFromQuery(req: IncomingMessage): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

/** A real HTTP server on 127.0.0.1 with the realtime server attached, as the README shows. */
export async function startServer(options: TestServerOptions = {}, port = 0): Promise<TestServer> {
  const make = () => {
    const realtime = createNodeServer<string>({ getAuthToken: tokenFromQuery, presenceGraceMs: 0, ...options })
    const http = createServer((_req, res) => res.writeHead(200).end('ok'))
    http.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
    return { realtime, http }
  }
  let current = make()
  current.http.listen(port, '127.0.0.1')
  await once(current.http, 'listening')
  const actualPort = (current.http.address() as AddressInfo).port
  const server: TestServer = {
    get http() {
      return current.http
    },
    get realtime() {
      return current.realtime
    },
    port: actualPort,
    url: `ws://127.0.0.1:${actualPort}`,
    async stop() {
      await current.realtime.close()
      current.http.closeAllConnections()
      await new Promise<void>((resolve) => current.http.close(() => resolve()))
    },
    async restart() {
      current = make()
      current.http.listen(actualPort, '127.0.0.1')
      await once(current.http, 'listening')
    },
  }
  return server
}

const clients = new Set<RealtimeClient>()

/** A real client over a real socket; `token` becomes its user id. Disconnected by `closeClients()`. */
export function makeClient(server: { url: string }, token: string, options: Partial<RealtimeClientOptions> = {}) {
  const client = createRealtimeClient({
    transport: nodeTransport({ url: server.url, getAuthToken: () => token }),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    requestTimeoutMs: 3000,
    presenceThrottleMs: 0,
    ...options,
  })
  clients.add(client)
  return client
}

export function closeClients() {
  for (const client of clients) client.disconnect()
  clients.clear()
}

/** Waits until `check` passes, polling; fails with the last error after `timeoutMs`. */
export async function eventually<T>(check: () => T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

/** Resolves when the client's status becomes `status`. */
export function statusBecomes(client: RealtimeClient, status: string, timeoutMs = 5000): Promise<void> {
  return eventually(() => {
    if (client.status.getSnapshot() !== status)
      throw new Error(`status is ${client.status.getSnapshot()}, not ${status}`)
  }, timeoutMs)
}

/** A raw protocol client (npm `ws`) for sending frames the real client never would. */
export async function rawClient(url: string, token = 'raw', query = 'v=1') {
  const ws = new WebSocket(`${url}/_realtime?${query}&token=${token}`)
  const frames: any[] = []
  const waiters: Array<{ match: (frame: any) => boolean; resolve: (frame: any) => void }> = []
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data))
    frames.push(frame)
    for (const waiter of [...waiters]) {
      if (waiter.match(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(frame)
      }
    }
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  )
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const next = (match: (frame: any) => boolean, timeoutMs = 5000) => {
    const found = frames.find(match)
    if (found) return Promise.resolve(found)
    return new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame')), timeoutMs)
      waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer)
          resolve(frame)
        },
      })
    })
  }
  await next((frame) => frame.t === 'hello')
  return {
    ws,
    frames,
    closed,
    next,
    send: (frame: unknown) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    /** Sends a request and resolves with its ack or err. */
    request: (frame: Record<string, unknown>) => {
      ws.send(JSON.stringify(frame))
      return next((reply) => (reply.t === 'ack' || reply.t === 'err') && reply.id === frame.id)
    },
  }
}

/** Opens an upgrade request and resolves with the HTTP status it got (101 when accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.on('open', () => {
      resolve(101)
      ws.close()
    })
    ws.on('error', reject)
  })
}

/**
 * A TCP proxy on 127.0.0.1 in front of the server, to cut the network without stopping the server:
 * `cut()` destroys every proxied connection, `block()` refuses new ones until `unblock()`.
 */
export async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>()
  let blocked = false
  const proxy = createNetServer((downstream) => {
    if (blocked) return downstream.destroy()
    const upstream = connect(targetPort, '127.0.0.1')
    for (const socket of [downstream, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        downstream.destroy()
        upstream.destroy()
      })
    }
    downstream.pipe(upstream).pipe(downstream)
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  const port = (proxy.address() as AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}`,
    cut() {
      for (const socket of sockets) socket.destroy()
    },
    block() {
      blocked = true
    },
    unblock() {
      blocked = false
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    },
  }
}

/** Records every status the client goes through. */
export function recordStatuses(client: RealtimeClient): string[] {
  const seen = [client.status.getSnapshot() as string]
  client.status.subscribe(() => seen.push(client.status.getSnapshot()))
  return seen
}
