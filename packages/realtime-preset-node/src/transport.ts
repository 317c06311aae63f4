import {
  InvalidOptionsError,
  openWebSocket,
  type RealtimeTransport,
  type WebSocketConstructor,
  websocketBaseUrl,
} from '@tanstack/realtime'

export type { WebSocketConstructor, WebSocketLike } from '@tanstack/realtime'

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
    open: ({ params, handlers }) =>
      openWebSocket({
        url: () => {
          base ??= endpoint(options)
          const url = new URL(base)
          for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
          return url.toString()
        },
        getAuthToken: options.getAuthToken,
        WebSocket: () => options.WebSocket ?? defaultWebSocket(),
        // 401, 403 and 404 become 4401, 4403 and 4404; anything else (a proxy's 400 or 502) is 1006.
        refusals: [401, 403, 404],
        handlers,
      }),
  }
}

function endpoint(options: NodeTransportOptions): URL {
  const base = new URL(websocketBaseUrl(options.url, 'nodeTransport'))
  if (options.path !== undefined) base.pathname = options.path
  else if (base.pathname === '/' || base.pathname === '') base.pathname = '/_realtime'
  return base
}

let nodeWebSocket: Promise<WebSocketConstructor> | undefined

/** The platform's WebSocket in browsers; npm `ws` in Node (better errors than Node 22's global one). */
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
