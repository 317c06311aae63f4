import {
  openWebSocket,
  type RealtimeTransport,
  type WebSocketConstructor,
  type WebSocketTransportOptions,
  websocketEndpoint,
} from '@tanstack/realtime'

/** Options of `nodeTransport`: `url` (omit in a browser), `path`, `getAuthToken`, `WebSocket`. */
export type NodeTransportOptions = WebSocketTransportOptions

/**
 * The Node preset's transport over a given default WebSocket: the Node entry loads npm `ws`, the
 * browser entry uses the platform's (so browser bundles never include `ws`).
 *
 * @internal
 */
export function sharedSocketTransport(
  options: NodeTransportOptions,
  defaultWebSocket: () => WebSocketConstructor | Promise<WebSocketConstructor>,
): RealtimeTransport {
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
        handlers,
      }),
  }
}
