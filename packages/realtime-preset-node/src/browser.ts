/**
 * Browser entry of `@tanstack/realtime-preset-node` (the `browser` export condition): the client
 * transport only, so bundles never pull in the server or `ws`.
 *
 * @module
 */
export type { NodeTransportOptions, WebSocketConstructor, WebSocketLike } from './transport.js'
export { nodeTransport } from './transport.js'
