import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { InvalidOptionsError, PROTOCOL_VERSION } from '@tanstack/realtime'
import {
  type Authorize,
  createRealtimeEngine,
  type EngineOptions,
  type EngineStats,
  originAllowed,
  type RealtimeEngine,
} from '@tanstack/realtime/server'
import { type RawData, type WebSocket, WebSocketServer } from 'ws'
import { FlushScheduler, RealtimeWebSocket, SocketWriter, type WriterSettings } from './writer.js'

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
   * `Origin` header's host equals the `Host` header, and an `http:` page may not connect over TLS:
   * `wss:`, or `X-Forwarded-Proto: https` from a proxy). Requests without an `Origin` header (not
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
   * threw) otherwise; a client that sends `refusal=close` (the client core does) instead gets the
   * socket accepted and closed at once with 4404, 4403, 4401 or 4500, which browsers can read.
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
   * Server-side publish: reaches every subscriber of the channel, no authorization check (and no
   * schema or hook: the server is trusted).
   * @throws {InvalidChannelKeyError} {@link TooLargeError}
   */
  publish: RealtimeEngine<T>['publish']
  /**
   * Who is present in a channel, in join order, as its clients see them: for an API route or a page
   * rendered on the server.
   * @example
   * ```ts
   * const online = await getPresence(['chat', { roomId: '42' }]) // [{ connectionId, userId, state }]
   * ```
   */
  getPresence: RealtimeEngine<T>['getPresence']
  /**
   * The newest messages a channel keeps, oldest first (at most `limit`; the server keeps
   * `historySize` per channel): to render recent messages on the server.
   * @example
   * ```ts
   * const recent = await getHistory(['chat', { roomId: '42' }], { limit: 20 }) // [{ seq, data }]
   * ```
   */
  getHistory: RealtimeEngine<T>['getHistory']
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
  const engine = createRealtimeEngine<T>(options)
  const { onError } = engine.config
  // A frame is its payload plus a small envelope (the engine checks payload sizes exactly).
  const maxPayload = engine.config.maxFrameChars
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload,
    WebSocket: RealtimeWebSocket,
  })
  const settings: WriterSettings = {
    scheduler: new FlushScheduler(),
    maxBufferedBytes,
    frameTooLarge: engine.config.frameTooLarge,
  }
  /** The writers of open sockets (heartbeat and shutdown); each socket holds its own as `ws.writer`. */
  const writers = new Set<SocketWriter>()
  const heartbeat = setInterval(() => {
    for (const writer of writers) {
      if (!writer.alive) writer.ws.terminate()
      else {
        writer.alive = false
        writer.ws.ping()
      }
    }
  }, heartbeatMs)
  heartbeat.unref()

  // One set of listener functions for every socket (`this` is the socket, a RealtimeWebSocket: the
  // server creates no other): no closures, and no upgrade-request state retained, per connection.
  function onPong(this: WebSocket) {
    const writer = (this as RealtimeWebSocket).writer
    if (writer) writer.alive = true
  }
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
    // Binary frames reach the engine as bytes: it refuses them (the protocol is text only).
    const writer = (this as RealtimeWebSocket).writer
    writer?.conn?.receive(isBinary ? (data as Buffer) : String(data))
  }
  function onClose(this: WebSocket, code: number) {
    const writer = (this as RealtimeWebSocket).writer
    if (!writer || !writers.delete(writer)) return
    writer.closed()
    writer.conn?.closed(code)
  }
  // 'close' follows; on errors such as 1009 ws closes the socket itself (RealtimeWebSocket answers first).
  function onSocketError() {}

  const shouldHandle = (req: IncomingMessage) => pathOf(req) === path

  const originOk = (req: IncomingMessage): boolean =>
    originAllowed(req.headers.origin, allowedOrigins, req, {
      host: req.headers.host,
      secure: (req.socket as TLSSocket).encrypted === true,
      forwardedProto: String(req.headers['x-forwarded-proto'] ?? ''),
    })

  /** Set by close(): upgrades still arriving (or still authenticating) are refused with 503. */
  let closing = false

  /**
   * Refuses an upgrade with an HTTP status, or, for clients that ask with `refusal=close` (browsers
   * cannot read the status), by accepting it and closing the socket at once with `4000 + status`.
   */
  function refuse(req: IncomingMessage, socket: Duplex, head: Buffer, status: 401 | 403 | 404 | 500, message: string) {
    if (queryOf(req).refusal !== 'close' || socket.destroyed) return refuseWithStatus(socket, status, message)
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', onSocketError)
      ws.close(4000 + status, message.slice(0, 120)) // a close reason has at most 123 bytes
    })
  }

  /** Synchronous unless `getAuthToken` returns a promise. */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void | Promise<void> {
    if (closing) return refuseWithStatus(socket, 503, 'The realtime server is shutting down.')
    if (!shouldHandle(req)) {
      return refuse(req, socket, head, 404, `No realtime endpoint at this path (expected ${path}).`)
    }
    if (!originOk(req)) return refuse(req, socket, head, 403, 'Origin not allowed: add it to allowedOrigins.')
    const failed = (error: unknown) => {
      onError(error)
      refuse(req, socket, head, 500, 'getAuthToken failed.')
    }
    let identity: T | null | undefined | Promise<T | null | undefined>
    try {
      identity = getAuthToken(req)
    } catch (error) {
      return failed(error)
    }
    if (identity instanceof Promise) return identity.then((value) => accept(req, socket, head, value), failed)
    accept(req, socket, head, identity)
  }

  function accept(req: IncomingMessage, socket: Duplex, head: Buffer, identity: T | null | undefined) {
    if (closing) return refuseWithStatus(socket, 503, 'The realtime server is shutting down.')
    if (identity === null || identity === undefined) return refuse(req, socket, head, 401, 'Not authenticated.')
    if (socket.destroyed) return
    const { v: version, resume } = queryOf(req)
    // The 101 response and the hello frame leave in one write.
    socket.cork()
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const writer = new SocketWriter(ws, socket, settings)
        ws.on('error', onSocketError) // before anything can fail: an unhandled 'error' would crash the process
        if (version !== undefined && version !== String(PROTOCOL_VERSION)) {
          writer.close(4400, `unsupported protocol version ${version}; this server speaks ${PROTOCOL_VERSION}`)
          return
        }
        writer.conn = engine.connect(identity, writer, { resume: resume ?? null })
        writers.add(writer)
        writer.flush()
        ws.on('pong', onPong)
        ws.on('message', onMessage)
        ws.on('close', onClose)
      })
    } finally {
      if (socket.writableCorked > 0) socket.uncork()
    }
  }

  return {
    server: {
      handleUpgrade(req, socket, head) {
        const fail = (error: unknown) => {
          onError(error)
          socket.destroy()
        }
        try {
          upgrade(req, socket, head)?.catch(fail)
        } catch (error) {
          fail(error)
        }
      },
      shouldHandle,
      stats: () => engine.stats(),
    },
    publish: (channel, data) => engine.publish(channel, data),
    getPresence: (channel) => engine.getPresence(channel),
    getHistory: (channel, options) => engine.getHistory(channel, options),
    async close() {
      closing = true
      clearInterval(heartbeat)
      const open = [...writers]
      await engine.close()
      // Give clients a moment to answer the close frame, then cut whatever is left.
      await Promise.all(
        open.map(
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

type Query = { v?: string; resume?: string; refusal?: string }

/** The `v`, `resume` and `refusal` query parameters, without building a URL object. */
function queryOf(req: IncomingMessage): Query {
  const url = req.url ?? '/'
  const start = url.indexOf('?')
  const found: Query = {}
  if (start === -1) return found
  for (const pair of url.slice(start + 1).split('&')) {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    if ((name !== 'v' && name !== 'resume' && name !== 'refusal') || found[name] !== undefined) continue
    const raw = eq === -1 ? '' : pair.slice(eq + 1)
    try {
      found[name] = decodeURIComponent(raw.replaceAll('+', ' '))
    } catch {
      found[name] = raw
    }
  }
  return found
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function refuseWithStatus(socket: Duplex, status: number, message: string) {
  if (socket.destroyed) return
  const body = `${message}\n`
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
