import { InvalidOptionsError, type RealtimeTransport, type WebSocketConstructor } from '@tanstack/realtime'
import { type NodeTransportOptions, sharedSocketTransport } from './shared-transport.js'

export type { WebSocketConstructor, WebSocketLike } from '@tanstack/realtime'

export type { NodeTransportOptions } from './shared-transport.js'

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
  return sharedSocketTransport(options, defaultWebSocket)
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
