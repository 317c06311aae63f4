/**
 * `@tanstack/realtime-preset-workerd`: Cloudflare Workers preset. One Durable Object per channel
 * (`RealtimeChannel`), the Worker's handler that authenticates and routes sockets
 * (`createWorkerdHandler`), server-side `publish`, and the client transport (`workerdTransport`)
 * that opens one WebSocket per channel.
 *
 * @module
 */
export { RealtimeChannel } from './channel.js'
export type { WorkerdHandler, WorkerdHandlerOptions, WorkerdPermissions } from './handler.js'
export { createWorkerdHandler } from './handler.js'
export type { RealtimeChannelOptions } from './options.js'
export { publish } from './publish.js'
export type {
  ChannelObjectId,
  ChannelObjectStub,
  ChannelStorage,
  HibernatableWebSocket,
  RealtimeChannelNamespace,
  RealtimeChannelState,
  WorkerdEnv,
} from './runtime-types.js'
export type { WebSocketConstructor, WebSocketLike, WorkerdTransportOptions } from './transport.js'
export { workerdTransport } from './transport.js'
