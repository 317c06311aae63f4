/**
 * `@tanstack/realtime-preset-node/testing`: a real realtime server on 127.0.0.1 and clients for it,
 * for the tests of an app that uses TanStack Realtime.
 *
 * @module
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createRealtimeClient,
  type RealtimeClient,
  type RealtimeClientOptions,
  type WebSocketConstructor,
} from '@tanstack/realtime'
import { WebSocket } from 'ws'
import { createNodeServer, type NodeRealtime, type NodeServerOptions } from './server.js'
import { nodeTransport } from './transport.js'

/**
 * Options of {@link startTestServer}: any option of `createNodeServer`. Unlike there, `getAuthToken`
 * is optional (default: the `token` query parameter is the identity, none is refused with 401) and
 * `presenceGraceMs` defaults to `0` (a client that disconnects leaves presence at once).
 */
export type TestServerOptions<T> = Partial<NodeServerOptions<T>>

/**
 * Options of {@link TestServer.client}: any option of `createRealtimeClient` except `transport`, and
 * the token the client sends. Defaults suited to tests: `presenceThrottleMs: 0`, `requestTimeoutMs: 3000`,
 * reconnects after 10 ms growing to 100 ms.
 */
export interface TestClientOptions extends Partial<Omit<RealtimeClientOptions, 'transport'>> {
  /** Sent as the `token` query parameter, which the default server takes as the user id. Default `'test-user'`; `null` sends none. */
  token?: string | null
}

/** A running test server: what `createNodeServer` returns, plus its URL, its HTTP server and a client factory. */
export interface TestServer<T> extends NodeRealtime<T> {
  /** The server's origin, `ws://127.0.0.1:<port>` (the endpoint is `url` + the server's `path`). */
  url: string
  /** The HTTP server the realtime server is attached to. Answers `ok` to plain HTTP requests. */
  http: Server
  /**
   * A client of this server over a real WebSocket (npm `ws`, also in a jsdom environment, so no
   * browser Origin check applies). It connects on first use; `close()` disconnects it.
   */
  client(options?: TestClientOptions): RealtimeClient
  /** Disconnects every client made by `client()`, closes the realtime server and the HTTP server. */
  close(): Promise<void>
}

/** The default identity: the `token` query parameter, or none (401). */
function tokenOf(req: IncomingMessage): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

/**
 * Starts a real realtime server (`createNodeServer` on an `http.Server`) on 127.0.0.1 and a free
 * port, for tests. Call `close()` when done (for example in `afterEach`).
 *
 * @throws {InvalidOptionsError} for invalid options, as `createNodeServer` does.
 * @example
 * ```ts
 * const server = await startTestServer()
 * const alice = server.client({ token: 'alice' })
 * const got: unknown[] = []
 * await alice.subscribe(['chat'], (message) => got.push(message)).ready
 * await server.publish(['chat'], { text: 'hi' })
 * await server.close()
 * ```
 */
export async function startTestServer<T = string>(options: TestServerOptions<T> = {}): Promise<TestServer<T>> {
  const realtime = createNodeServer<T>({
    getAuthToken: tokenOf as (req: IncomingMessage) => T | null,
    presenceGraceMs: 0,
    ...options,
  })
  const http = createServer((_req, res) => res.end('ok'))
  http.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
  const path = options.path ?? '/_realtime'
  const clients = new Set<RealtimeClient>()
  let closed: Promise<void> | undefined
  return {
    ...realtime,
    url,
    http,
    client({ token = 'test-user', ...clientOptions } = {}) {
      const client = createRealtimeClient({
        presenceThrottleMs: 0,
        requestTimeoutMs: 3000,
        ...clientOptions,
        reconnect: { initialDelayMs: 10, maxDelayMs: 100, ...clientOptions.reconnect },
        transport: nodeTransport({
          url,
          path,
          getAuthToken: () => token,
          WebSocket: WebSocket as unknown as WebSocketConstructor,
        }),
      })
      clients.add(client)
      return client
    },
    close() {
      closed ??= (async () => {
        for (const client of clients) client.disconnect()
        clients.clear()
        await realtime.close()
        http.closeAllConnections()
        await new Promise<void>((resolve) => http.close(() => resolve()))
      })()
      return closed
    },
  }
}
