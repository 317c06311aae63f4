import { InvalidOptionsError, type RealtimeTransport, type TransportSocket } from '@tanstack/realtime'

/** The subset of the WebSocket API the transport uses (browsers, Node 22+ and npm `ws` all have it). */
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

/** Options of {@link nodeTransport}. */
export interface NodeTransportOptions {
  /**
   * Server origin, such as `ws://localhost:3000` (`http(s)://` works too). Omit in a browser: it
   * is derived from `window.location`.
   */
  url?: string
  /** The server's path. Default: the URL's path when it has one, else `/_realtime`. */
  path?: string
  /**
   * Returns a token sent as the `token` query parameter of every (re)connect, so an expired token
   * is refreshed on reconnect. The server reads it in its `getAuthToken(req)`.
   */
  getAuthToken?: () => string | null | undefined | Promise<string | null | undefined>
  /** The WebSocket implementation. Default: the platform's in browsers, npm `ws` in Node. */
  WebSocket?: WebSocketConstructor
}

const OPEN = 1

interface Location {
  protocol: string
  host: string
}

/**
 * The client transport for the Node preset: one WebSocket carries every channel.
 *
 * @throws {InvalidOptionsError} when `url` is not a valid ws(s) or http(s) URL. Without `url` outside a
 *   browser, connecting fails (the client reports it and retries).
 * @example
 * ```ts
 * const client = createRealtimeClient({
 *   transport: nodeTransport({ url: 'ws://localhost:3000', path: '/_realtime' }),
 * })
 * ```
 */
export function nodeTransport(options: NodeTransportOptions = {}): RealtimeTransport {
  // Resolved now when given (so a bad url fails at once), else on first connect: a client module
  // imported during server-side rendering must not need window.location.
  let base = options.url === undefined ? undefined : endpoint(options)
  return {
    mode: 'shared',
    open({ params, handlers }) {
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
        base ??= endpoint(options)
        const url = new URL(base)
        for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
        const token = await options.getAuthToken?.()
        if (token !== null && token !== undefined) url.searchParams.set('token', token)
        const WebSocketImpl = options.WebSocket ?? (await defaultWebSocket())
        if (closed) return
        const ws = new WebSocketImpl(url.toString())
        socket = ws
        // npm `ws` reports a refused upgrade's HTTP status (browsers cannot): 401, 403 and 404 become
        // 4401, 4403 and 4404; anything else (a proxy's 400 or 502) is an ordinary failure, 1006.
        const nodeWs = ws as unknown as { on?: (event: string, listener: (...args: any[]) => void) => void }
        nodeWs.on?.('unexpected-response', (_req: unknown, res: { statusCode?: number; statusMessage?: string }) => {
          const status = res.statusCode ?? 0
          const code = status === 401 || status === 403 || status === 404 ? 4000 + status : 1006
          reportClose(code, `upgrade refused: HTTP ${status} ${res.statusMessage ?? ''}`.trim())
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

function endpoint(options: NodeTransportOptions): URL {
  const base = baseUrl(options.url)
  if (options.path !== undefined) base.pathname = options.path
  else if (base.pathname === '/' || base.pathname === '') base.pathname = '/_realtime'
  return base
}

function baseUrl(url: string | undefined): URL {
  const location = (globalThis as { location?: Location }).location
  let parsed: URL
  try {
    if (url !== undefined) parsed = new URL(url, location ? `${location.protocol}//${location.host}` : undefined)
    else if (location) parsed = new URL(`${location.protocol}//${location.host}`)
    else throw new InvalidOptionsError('nodeTransport needs a url outside a browser, such as ws://localhost:3000.')
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw error
    throw new InvalidOptionsError(`nodeTransport: invalid url ${JSON.stringify(url)}.`)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  else if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new InvalidOptionsError(`nodeTransport: url must be ws(s):// or http(s)://; got ${parsed.protocol}`)
  }
  return parsed
}

let nodeWebSocket: Promise<WebSocketConstructor> | undefined

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = globalThis as { WebSocket?: WebSocketConstructor; document?: unknown }
  if (global.document !== undefined && global.WebSocket) return global.WebSocket
  nodeWebSocket ??= import('ws').then(
    (module) => module.default as unknown as WebSocketConstructor,
    () => {
      if (global.WebSocket) return global.WebSocket
      throw new InvalidOptionsError('No WebSocket implementation: install the "ws" package.')
    },
  )
  return nodeWebSocket
}
