/**
 * `@tanstack/realtime/server`: the runtime-neutral server engine shared by the Node and Workers
 * presets, and the broker interface for sharing channels between server processes.
 *
 * @module
 */
export type { Broker, BrokerListener, MemoryBrokerOptions, ReadResult } from './broker.js'
export { MemoryBroker } from './broker.js'
export type {
  Authorize,
  ConnectionSink,
  EngineConnection,
  EngineOptions,
  EngineStats,
  Permissions,
  RateLimit,
  RealtimeEngine,
} from './engine.js'
export { createRealtimeEngine } from './engine.js'
export { Frame } from './frame.js'
