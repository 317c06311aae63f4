/**
 * Entry of `@tanstack/realtime-preset-workerd` outside Workers (the `node` export condition):
 * everything but the Durable Object class, which only the Workers runtime can load (it extends
 * `DurableObject` from `cloudflare:workers`). Node code uses the transport (tests, scripts, another
 * server), and may build a Worker's handler.
 *
 * @module
 */
export type { WorkerdHandler, WorkerdHandlerOptions, WorkerdPermissions } from './handler.js'
export { createWorkerdHandler } from './handler.js'
export type { RealtimeChannelOptions } from './options.js'
export { getHistory, getPresence, publish } from './rpc.js'
export type { ChannelObjectId, ChannelObjectStub, RealtimeChannelNamespace, WorkerdEnv } from './runtime-types.js'
export type { WebSocketConstructor, WebSocketLike, WorkerdTransportOptions } from './transport.js'
export { workerdTransport } from './transport.js'
