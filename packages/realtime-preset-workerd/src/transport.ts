import { InvalidOptionsError, type RealtimeTransport, type TransportSocket } from '@tanstack/realtime'
import { channelPath } from './wire.js'

/** The subset of the WebSocket API the transport uses (browsers, Workers, Node 22+ and npm `ws` have it). */
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

/** Options of {@link workerdTransport}. */
export interface WorkerdTransportOptions {
  /**
   * The Worker's origin, such as `https://my-worker.example.com` (`ws(s)://` works too). Omit in a
   * browser: it is derived from `window.location`. Required elsewhere (another Worker, Node).
   */
  url?: string
  /** The Worker's realtime path. Default: the URL's path when it has one, else `/_realtime`. */
  path?: string
  /**
   * Returns a token sent as the `token` query parameter of every (re)connect of every channel, so
   * an expired token is refreshed on reconnect. The Worker reads it in its `getAuthToken(request)`.
   */
  getAuthToken?: () => string | null | undefined | Promise<string | null | undefined>
  /** The WebSocket implementation. Default: the platform's; pass npm `ws` in Node 20. */
  WebSocket?: WebSocketConstructor
}

const OPEN = 1
/** Refused upgrades reported as 4000 + status; anything else is a plain failure (1006) and retried. */
const REFUSALS = [401, 403, 404, 500]

interface Location {
  protocol: string
  host: string
}

/**
 * The client transport for the Workers preset: one WebSocket per channel, each reaching the
 * channel's own Durable Object at `<url><path>/<encoded channel key>`. The client core reconnects
 * each socket with backoff and resumes its channel from the last sequence number it saw.
 *
 * A refused upgrade's HTTP status (readable with npm `ws`, not in browsers) is reported as close
 * code 4000 + status: 4401 (no token) and 4404 are retried, 4403 (channel denied) fails what waits
 * on the channel with `ForbiddenError`, 4500 (the Worker failed) with `ServerError`, then retries.
 *
 * @throws {InvalidOptionsError} when `url` is missing outside a browser or invalid, or when there
 *   is no WebSocket implementation.
 * @example
 * ```ts
 * const client = createRealtimeClient({
 *   transport: workerdTransport({
 *     url: 'https://my-worker.example.com',
 *     getAuthToken: () => myAuthStore.token,
 *   }),
 * })
 * ```
 */
export function workerdTransport(options: WorkerdTransportOptions = {}): RealtimeTransport {
  const base = baseUrl(options.url)
  const prefix = (options.path ?? (base.pathname === '/' ? '/_realtime' : base.pathname)).replace(/\/+$/, '')
  base.pathname = '/'
  base.search = ''
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!WebSocketImpl) {
    throw new InvalidOptionsError('workerdTransport needs a WebSocket: pass { WebSocket } from the "ws" package.')
  }
  return {
    mode: 'per-channel',
    open({ channel, params, handlers }) {
      if (channel === undefined) throw new InvalidOptionsError('workerdTransport opens one socket per channel.')
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
        const url = new URL(channelPath(prefix, channel), base)
        for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
        const token = await options.getAuthToken?.()
        if (token !== null && token !== undefined) url.searchParams.set('token', token)
        if (closed) return
        const ws = new WebSocketImpl(url.toString())
        socket = ws
        // npm `ws` reports a refused upgrade's HTTP status (browsers cannot): 403 becomes 4403.
        const nodeWs = ws as unknown as { on?: (event: string, listener: (...args: any[]) => void) => void }
        nodeWs.on?.('unexpected-response', (_req: unknown, res: { statusCode?: number; statusMessage?: string }) => {
          const status = res.statusCode ?? 0
          reportClose(REFUSALS.includes(status) ? 4000 + status : 1006, res.statusMessage ?? 'upgrade refused')
          ;(ws as unknown as { terminate(): void }).terminate()
        })
        ws.addEventListener('open', () => handlers.onOpen())
        ws.addEventListener('message', (event) => {
          if (!reported) handlers.onMessage(String(event.data))
        })
        ws.addEventListener('close', (event) => reportClose(event.code, event.reason))
        ws.addEventListener('error', () => {}) // 'close' follows
      }
      start().catch((error: unknown) => reportClose(1006, `could not connect: ${String(error)}`))
      const handle: TransportSocket = {
        send(text) {
          if (socket?.readyState === OPEN) socket.send(text)
        },
        close(code, reason) {
          closed = true
          reported = true
          socket?.close(code, reason)
        },
      }
      return handle
    },
  }
}

function baseUrl(url: string | undefined): URL {
  const location = (globalThis as { location?: Location }).location
  let parsed: URL
  try {
    if (url !== undefined) parsed = new URL(url, location ? `${location.protocol}//${location.host}` : undefined)
    else if (location) parsed = new URL(`${location.protocol}//${location.host}`)
    else throw new InvalidOptionsError('workerdTransport needs a url outside a browser, such as https://my-worker.dev.')
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw error
    throw new InvalidOptionsError(`workerdTransport: invalid url ${JSON.stringify(url)}.`)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  else if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new InvalidOptionsError(`workerdTransport: url must be ws(s):// or http(s)://; got ${parsed.protocol}`)
  }
  return parsed
}
