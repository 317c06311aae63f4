/**
 * Browser entry of `@tanstack/realtime-preset-node` (the `browser` export condition): the client
 * transport only, over the platform's WebSocket, so bundles never pull in the server or `ws`.
 *
 * @module
 */
import { InvalidOptionsError, type RealtimeTransport, type WebSocketConstructor } from '@tanstack/realtime'
import { type NodeTransportOptions, sharedSocketTransport } from './shared-transport.js'

export type { WebSocketConstructor, WebSocketLike } from '@tanstack/realtime'

export type { NodeTransportOptions } from './shared-transport.js'

/**
 * The client transport for the Node preset: one WebSocket carries every channel.
 *
 * @throws {InvalidOptionsError} when `url` is not a valid ws(s) or http(s) URL.
 * @example
 * ```ts
 * const client = createRealtimeClient({ transport: nodeTransport() }) // the page's origin, /_realtime
 * ```
 */
export function nodeTransport(options: NodeTransportOptions = {}): RealtimeTransport {
  return sharedSocketTransport(options, () => {
    const WebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!WebSocket) throw new InvalidOptionsError('No WebSocket implementation: pass { WebSocket }.')
    return WebSocket
  })
}
