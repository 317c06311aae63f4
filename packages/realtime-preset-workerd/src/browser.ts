/**
 * Browser entry of `@tanstack/realtime-preset-workerd` (the `browser` export condition): the client
 * transport only, so app bundles never pull in the Durable Object or the Worker handler.
 *
 * @module
 */
export type { WebSocketConstructor, WebSocketLike, WorkerdTransportOptions } from './transport.js'
export { workerdTransport } from './transport.js'
