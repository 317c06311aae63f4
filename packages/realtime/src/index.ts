/**
 * `@tanstack/realtime`: the framework-agnostic client, channel keys, the wire protocol's types and
 * the errors every package shares.
 *
 * @module
 */
export type {
  AnyChannelDefinition,
  ChannelDefinition,
  ChannelKey,
  MessageOf,
  PresenceChannelDefinition,
  PresenceState,
  PresenceStateOf,
} from './channel.js'
export {
  defineChannel,
  isChannelDefinition,
  MAX_CHANNEL_KEY_LENGTH,
  parseChannelKey,
  presenceChannel,
  resolveChannel,
  serializeChannelKey,
} from './channel.js'
export * from './errors.js'
export type { ServerLimits, StreamPosition } from './protocol.js'
export { PROTOCOL_VERSION } from './protocol.js'
export type { Observable } from './store.js'
