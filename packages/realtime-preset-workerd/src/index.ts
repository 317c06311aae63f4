/**
 * `@tanstack/realtime-preset-workerd`: Cloudflare Workers preset. One Durable Object per channel
 * (`RealtimeChannel`), the Worker's handler that authenticates and routes sockets
 * (`createWorkerdHandler`), server-side `publish`, and the client transport (`workerdTransport`)
 * that opens one WebSocket per channel.
 *
 * @module
 */
export { RealtimeChannel } from './channel-object.js'
export * from './node.js'
