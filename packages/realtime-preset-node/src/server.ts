import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { type ChannelKey, InvalidOptionsError, PROTOCOL_VERSION, type StreamPosition } from '@tanstack/realtime'
import {
  type Authorize,
  createRealtimeEngine,
  type EngineOptions,
  type EngineStats,
  type RealtimeEngine,
} from '@tanstack/realtime/server'
import { WebSocketServer } from 'ws'
import { FlushScheduler, SocketWriter } from './writer.js'

/** Options of {@link createNodeServer}. */
export interface NodeServerOptions<T> extends Omit<EngineOptions<T>, 'authorize'> {
  /** The URL path clients connect to. Default `/_realtime`. */
  path?: string
  /**
   * Turns the upgrade request into the caller's identity (a user id, a session, a token's claims).
   * Return `null` or `undefined` to refuse the connection with HTTP 401.
   */
  getAuthToken(req: IncomingMessage): T | null | undefined | Promise<T | null | undefined>
  /** Per-channel permissions for an identity; see {@link Authorize}. Default: everything allowed. */
  authorize?: Authorize<T>
  /**
   * Origins allowed to connect (protection against cross-site WebSocket hijacking): a list of
   * origins such as `'https://app.example.com'`, or a function. Default: same origin only (the
   * `Origin` header's host equals the `Host` header). Requests without an `Origin` header (not
   * from a browser) are allowed.
   */
  allowedOrigins?: readonly string[] | ((origin: string, req: IncomingMessage) => boolean)
  /** A socket whose unsent data passes this is closed with 4008 (it reconnects and resumes). Default 4 MiB. */
  maxBufferedBytes?: number
  /** Interval of WebSocket pings that detect dead sockets. Default 30 000 ms. */
  heartbeatMs?: number
}

/** The part that attaches to an HTTP server. */
export interface RealtimeNodeServer {
  /**
   * Handles an HTTP upgrade: authenticates, checks the path and Origin, and accepts the WebSocket.
   * Answers 404 (wrong path), 403 (Origin not allowed), 401 (no identity) or 500 (`getAuthToken`
   * threw) otherwise.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Whether `req` is for this server's path (to share one HTTP server with other WebSocket endpoints). */
  shouldHandle(req: IncomingMessage): boolean
  /** Connection and channel counts. */
  stats(): EngineStats
}

/** What {@link createNodeServer} returns. */
export interface NodeRealtime<T> {
  server: RealtimeNodeServer
  /**
   * Server-side publish: reaches every subscriber of the channel, no authorization check.
   * @throws {InvalidChannelKeyError} {@link TooLargeError}
   */
  publish(channel: ChannelKey, data: unknown): Promise<StreamPosition>
  /** Closes every connection with 1001 (clients reconnect) and stops timers. */
  close(): Promise<void>
  /** The underlying engine (subscriber counts, stats). */
  engine: RealtimeEngine<T>
}

/**
 * Creates a realtime WebSocket server for Node that attaches to an existing `http.Server`.
 *
 * @throws {InvalidOptionsError} for invalid options.
 * @example
 * ```ts
 * const { server, publish } = createNodeServer({
 *   getAuthToken: (req) => getUserIdFromRequest(req),
 *   authorize: (userId, channel) => ({ subscribe: true, publish: true, presence: true }),
 * })
 * httpServer.on('upgrade', (req, socket, head) => server.handleUpgrade(req, socket, head))
 * ```
 */
export function createNodeServer<T>(options: NodeServerOptions<T>): NodeRealtime<T> {
  if (typeof options?.getAuthToken !== 'function') {
    throw new InvalidOptionsError('createNodeServer needs getAuthToken(req) returning the caller identity.')
  }
  const path = options.path ?? '/_realtime'
  if (!path.startsWith('/')) throw new InvalidOptionsError(`path must start with "/"; got ${JSON.stringify(path)}.`)
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024
  const heartbeatMs = options.heartbeatMs ?? 30_000
  for (const [name, value] of [
    ['maxBufferedBytes', maxBufferedBytes],
    ['heartbeatMs', heartbeatMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidOptionsError(`Option "${name}" must be an integer >= 1; got ${String(value)}.`)
    }
  }
  const { getAuthToken, allowedOrigins } = options
  const onError = options.onError ?? ((error: unknown) => console.error('[tanstack-realtime]', error))
  const engine = createRealtimeEngine<T>({ ...options, onError })
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    // A frame is its payload plus a small envelope (the engine checks payload sizes exactly).
    maxPayload: Math.max(engine.limits.maxMessageBytes, engine.limits.maxPresenceBytes) + 1024,
  })
  const scheduler = new FlushScheduler()
  const alive = new Map<SocketWriter, boolean>()
  const heartbeat = setInterval(() => {
    for (const [writer, answered] of alive) {
      if (!answered) writer.ws.terminate()
      else {
        alive.set(writer, false)
        writer.ws.ping()
      }
    }
  }, heartbeatMs)
  heartbeat.unref()

  const shouldHandle = (req: IncomingMessage) => pathOf(req) === path

  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin
    if (origin === undefined) return true
    if (typeof allowedOrigins === 'function') return allowedOrigins(origin, req)
    if (allowedOrigins) return allowedOrigins.includes(origin)
    try {
      return new URL(origin).host === req.headers.host
    } catch {
      return false
    }
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    if (!shouldHandle(req)) return refuse(socket, 404, `No realtime endpoint at this path (expected ${path}).`)
    if (!originAllowed(req)) return refuse(socket, 403, 'Origin not allowed: add it to allowedOrigins.')
    let identity: T | null | undefined
    try {
      identity = await getAuthToken(req)
    } catch (error) {
      onError(error)
      return refuse(socket, 500, 'getAuthToken failed.')
    }
    if (identity === null || identity === undefined) return refuse(socket, 401, 'Not authenticated.')
    if (socket.destroyed) return
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams
    wss.handleUpgrade(req, socket, head, (ws) => {
      const writer = new SocketWriter(ws, socket, scheduler, maxBufferedBytes)
      const version = query.get('v')
      if (version !== null && version !== String(PROTOCOL_VERSION)) {
        writer.close(4400, `unsupported protocol version ${version}; this server speaks ${PROTOCOL_VERSION}`)
        return
      }
      const conn = engine.connect(identity, writer, { resume: query.get('resume') })
      alive.set(writer, true)
      ws.on('pong', () => alive.set(writer, true))
      ws.on('message', (data) => conn.receive(String(data)))
      ws.on('error', () => {}) // 'close' follows; errors such as 1009 are answered by ws itself
      ws.on('close', () => {
        alive.delete(writer)
        writer.closed()
        conn.closed()
      })
    })
  }

  return {
    server: {
      handleUpgrade(req, socket, head) {
        upgrade(req, socket, head).catch((error) => {
          onError(error)
          socket.destroy()
        })
      },
      shouldHandle,
      stats: () => engine.stats(),
    },
    publish: (channel, data) => engine.publish(channel, data),
    async close() {
      clearInterval(heartbeat)
      const writers = [...alive.keys()]
      await engine.close()
      // Give clients a moment to answer the close frame, then cut whatever is left.
      await Promise.all(
        writers.map(
          (writer) =>
            new Promise<void>((resolve) => {
              if (writer.ws.readyState === writer.ws.CLOSED) return resolve()
              const timer = setTimeout(() => writer.ws.terminate(), 1000)
              writer.ws.once('close', () => {
                clearTimeout(timer)
                resolve()
              })
            }),
        ),
      )
      wss.close()
    },
    engine,
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function refuse(socket: Duplex, status: number, message: string) {
  if (socket.destroyed) return
  const body = `${message}\n`
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
