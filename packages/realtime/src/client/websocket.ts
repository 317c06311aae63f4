import { InvalidOptionsError } from '../errors.js'
import { Url, type UrlLike } from '../runtime.js'
import type { TransportHandlers, TransportSocket } from './transport.js'

/** The subset of the WebSocket API transports use (browsers, Workers, Node 22+ and npm `ws` have it). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open', listener: () => void): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void
  addEventListener(type: 'error', listener: () => void): void
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** The options every WebSocket transport takes (`nodeTransport`, `workerdTransport`). */
export interface WebSocketTransportOptions {
  /**
   * The server's origin, such as `ws://localhost:3000` or `https://my-worker.example.com` (ws(s) and
   * http(s) both work). Omit in a browser: it is derived from `window.location`.
   */
  url?: string
  /** The server's realtime path. Default: the URL's path when it has one, else `/_realtime`. */
  path?: string
  /**
   * Returns a token sent as the `token` query parameter of every (re)connect, so an expired token
   * is refreshed on reconnect. The server reads it in its `getAuthToken`.
   */
  getAuthToken?: () => string | null | undefined | Promise<string | null | undefined>
  /** The WebSocket implementation. Default: the platform's (the Node transport loads npm `ws` in Node). */
  WebSocket?: WebSocketConstructor
}

const OPEN = 1

/**
 * A transport's endpoint as a `ws:`/`wss:` URL string without query: the origin from `url` (http(s)
 * accepted) or, when omitted, the page's; the path from `path`, else the URL's own path, else
 * `/_realtime` (no trailing slash).
 *
 * @param transport - the transport's name, for error messages
 * @throws {InvalidOptionsError} when `url` is invalid, or omitted outside a browser.
 */
export function websocketEndpoint(options: Pick<WebSocketTransportOptions, 'url' | 'path'>, transport: string): string {
  const location = (globalThis as { location?: { protocol: string; host: string } }).location
  const page = location && `${location.protocol}//${location.host}`
  let endpoint: UrlLike
  try {
    endpoint = new Url(options.url ?? (page as string), page)
  } catch {
    throw new InvalidOptionsError(
      `${transport}: ${options.url === undefined ? 'a url is needed outside a browser' : `invalid url ${options.url}`}.`,
    )
  }
  // http: becomes ws:, https: wss: (switching between these special schemes is allowed).
  endpoint.protocol = endpoint.protocol.replace('http', 'ws')
  if (!/^wss?:$/.test(endpoint.protocol)) {
    throw new InvalidOptionsError(`${transport}: the url must be ws(s):// or http(s)://.`)
  }
  const path = options.path ?? (endpoint.pathname.length > 1 ? endpoint.pathname : '/_realtime')
  endpoint.pathname = path.replace(/\/+$/, '') || '/'
  endpoint.search = ''
  return endpoint.toString()
}

/** What {@link openWebSocket} needs. */
export interface OpenWebSocketOptions {
  /** The URL to open, without the token (built when the socket opens, not before). */
  url: () => string
  /** Sent as the `token` query parameter when it returns one; asked on every open. */
  getAuthToken?: (() => string | null | undefined | Promise<string | null | undefined>) | undefined
  /** The WebSocket implementation (may load it lazily). */
  WebSocket: () => WebSocketConstructor | Promise<WebSocketConstructor>
  handlers: TransportHandlers
}

/**
 * Opens one WebSocket for a transport: the token is fetched first, events go to the core's
 * handlers exactly once, and a socket closed before it opened never opens. Shared by the presets'
 * transports and usable by custom ones. A refused upgrade is a close code (4401, 4403, 4404, 4500)
 * from servers that speak the protocol (the core asks them with `refusal=close`); an upgrade refused
 * with an HTTP status (a proxy, a server shutting down) is 1006 on every platform.
 */
export function openWebSocket(options: OpenWebSocketOptions): TransportSocket {
  const { handlers } = options
  let socket: WebSocketLike | undefined
  let closed = false
  let reported = false
  const reportClose = (code: number, reason: string) => {
    if (reported) return
    reported = true
    closed = true
    handlers.onClose(code, reason)
  }
  const start = async () => {
    const url = new Url(options.url())
    const token = await options.getAuthToken?.()
    if (token !== null && token !== undefined) url.searchParams.set('token', token)
    const WebSocketImpl = await options.WebSocket()
    if (closed) return
    handlers.onDialing?.()
    const ws = new WebSocketImpl(url.toString())
    socket = ws
    ws.addEventListener('open', () => handlers.onOpen())
    ws.addEventListener('message', (event) => {
      if (!reported) handlers.onMessage(String(event.data))
    })
    ws.addEventListener('close', (event) => reportClose(event.code, event.reason))
    ws.addEventListener('error', () => {}) // 'close' follows
  }
  start().catch((error: unknown) => reportClose(1006, `could not connect: ${String(error)}`))
  return {
    send(text) {
      if (socket?.readyState === OPEN) socket.send(text)
    },
    close(code, reason) {
      closed = true
      reported = true
      socket?.close(code, reason)
    },
  }
}
