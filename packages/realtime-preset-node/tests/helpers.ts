import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '@tanstack/realtime'
import {
  createNodeServer,
  type NodeRealtime,
  type NodeServerOptions,
  nodeTransport,
} from '@tanstack/realtime-preset-node'
import { rawSocket } from '../../realtime/tests/support/helpers.js'

export {
  bystander,
  eventually,
  recordStatuses,
  startProxy,
  statusBecomes,
  upgradeStatus,
} from '../../realtime/tests/support/helpers.js'

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

/** A raw protocol client (npm `ws`) for sending frames the real client never would. */
export function rawClient(url: string, token = 'raw', query = 'v=1') {
  return rawSocket(`${url}/_realtime?${query}&token=${token}`)
}

/** Serves an existing realtime server (such as a README snippet's) on an HTTP server on 127.0.0.1. */
export async function startHttp(realtime: { handleUpgrade: NodeRealtime<unknown>['server']['handleUpgrade'] }) {
  const http = createServer()
  http.on('upgrade', (req, socket, head) => realtime.handleUpgrade(req, socket, head))
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const port = (http.address() as AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () => {
      http.closeAllConnections()
      return new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
