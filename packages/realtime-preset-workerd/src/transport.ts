import {
  InvalidOptionsError,
  openWebSocket,
  type RealtimeTransport,
  type WebSocketConstructor,
  type WebSocketTransportOptions,
  websocketEndpoint,
} from '@tanstack/realtime'
import { channelPath } from './wire.js'

export type { WebSocketConstructor, WebSocketLike } from '@tanstack/realtime'

/**
 * Options of {@link workerdTransport}: `url` (omit in a browser; required in another Worker or in
 * Node, where `WebSocket` from npm `ws` must be passed on Node 20), `path`, `getAuthToken` (asked on
 * every (re)connect of every channel).
 */
export type WorkerdTransportOptions = WebSocketTransportOptions

/**
 * The client transport for the Workers preset: one WebSocket per channel, each reaching the
 * channel's own Durable Object at `<url><path>/<encoded channel key>`. The client core reconnects
 * each socket with backoff and resumes its channel from the last sequence number it saw.
 *
 * A refused upgrade is closed by the Worker with a code the client reads in every runtime: 4401
 * (no token: `getAuthToken` is asked once more, then the client stops with `UnauthorizedError`),
 * 4403 (Origin or channel denied: `ForbiddenError` for what waits on the channel), 4500 (the Worker
 * failed: `ServerError`, retried with backoff).
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
  const base = new URL(websocketEndpoint(options, 'workerdTransport'))
  const prefix = base.pathname === '/' ? '' : base.pathname
  base.pathname = '/'
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!WebSocketImpl) {
    throw new InvalidOptionsError('workerdTransport needs a WebSocket: pass { WebSocket } from the "ws" package.')
  }
  return {
    mode: 'per-channel',
    open({ channel, params, handlers }) {
      if (channel === undefined) throw new InvalidOptionsError('workerdTransport opens one socket per channel.')
      return openWebSocket({
        url: () => {
          const url = new URL(channelPath(prefix, channel), base)
          for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
          return url.toString()
        },
        getAuthToken: options.getAuthToken,
        WebSocket: () => WebSocketImpl,
        handlers,
      })
    },
  }
}
