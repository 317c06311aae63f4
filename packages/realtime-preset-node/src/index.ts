/**
 * `@tanstack/realtime-preset-node`: a WebSocket server for Node (`createNodeServer`) and the
 * matching client transport (`nodeTransport`).
 *
 * @module
 */
export type { NodeRealtime, NodeServerOptions, RealtimeNodeServer } from './server.js'
export { createNodeServer } from './server.js'
export type { NodeTransportOptions, WebSocketConstructor, WebSocketLike } from './transport.js'
export { nodeTransport } from './transport.js'
