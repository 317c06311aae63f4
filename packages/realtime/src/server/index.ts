/**
 * `@tanstack/realtime/server`: the runtime-neutral server engine shared by the Node and Workers
 * presets, and the broker interface for sharing channels between server processes.
 *
 * @module
 */

export type { CollectionChange, CollectionMessage } from '../collections/changes.js'
export { changesFromOps } from '../collections/changes.js'
export { intOption } from '../options.js'
export type { ClientFrame, IncomingFrame, RateLimit, ServerFrame, WireMember } from '../protocol.js'
export {
  decodeClientFrame,
  encodeFrame,
  encodeMessageFrame,
  frameTooLarge,
  MAX_JSON_DEPTH,
  maxFrameSize,
  nestedDeeperThan,
  tooDeep,
  utf8Length,
} from '../protocol.js'
export { TokenBucket } from '../rate-limit.js'
export { randomId } from '../runtime.js'
export type { Broker, BrokerListener, MemoryBrokerOptions, ReadResult, TakenOver } from './broker.js'
export { MemoryBroker } from './broker.js'
export type { CollectionSource } from './collections.js'
export type {
  Authorize,
  ConnectionSink,
  EngineConnection,
  EngineOptions,
  EngineStats,
  Permissions,
  RealtimeEngine,
} from './engine.js'
export { createRealtimeEngine } from './engine.js'
export { Frame } from './frame.js'
export type { OriginTarget } from './origin.js'
export { originAllowed } from './origin.js'
export { defaultUserId } from './user-id.js'
