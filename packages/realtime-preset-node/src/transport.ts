import {
  InvalidOptionsError,
  openWebSocket,
  type RealtimeTransport,
  type WebSocketConstructor,
  type WebSocketTransportOptions,
  websocketEndpoint,
} from '@tanstack/realtime'

export type { WebSocketConstructor, WebSocketLike } from '@tanstack/realtime'

/** Options of {@link nodeTransport}: `url` (omit in a browser), `path`, `getAuthToken`, `WebSocket`. */
export type NodeTransportOptions = WebSocketTransportOptions

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
  let base = options.url === undefined ? undefined : websocketEndpoint(options, 'nodeTransport')
  return {
    mode: 'shared',
    open: ({ params, handlers }) =>
      openWebSocket({
        url: () => {
          base ??= websocketEndpoint(options, 'nodeTransport')
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
