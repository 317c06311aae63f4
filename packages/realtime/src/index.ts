/**
 * `@tanstack/realtime`: the framework-agnostic client, channel keys, the wire protocol's types and
 * the errors every package shares, and live collections (`liveCollectionOptions`, `liveQueryOptions`),
 * which need the optional peer dependency `@tanstack/db` only when used.
 *
 * @module
 */
export type {
  AnyChannelDefinition,
  ChannelDefinition,
  ChannelKey,
  ChannelSchemas,
  MessageOf,
  PresenceChannelDefinition,
  PresenceSchemas,
  PresenceState,
  PresenceStateOf,
  PublishOf,
  SchemaMessage,
  SchemaParams,
  SchemaPublish,
  SchemaPublished,
  SchemaState,
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
export type { ReconnectOptions } from './client/backoff.js'
export type { SubscriptionState, SubscriptionStatus } from './client/channel-subscription.js'
export type {
  ConnectionStatus,
  MessageMeta,
  RealtimeClient,
  RealtimeClientOptions,
  SubscribeOptions,
  Subscription,
} from './client/client.js'
export { createRealtimeClient } from './client/client.js'
export type { PresenceChannel, PresenceLeave, PresenceMember, PresenceSnapshot } from './client/presence.js'
export { getPresence } from './client/presence.js'
export type {
  RealtimeTransport,
  TransportHandlers,
  TransportOpenOptions,
  TransportSocket,
} from './client/transport.js'
export type {
  OpenWebSocketOptions,
  WebSocketConstructor,
  WebSocketLike,
  WebSocketTransportOptions,
} from './client/websocket.js'
export { openWebSocket, websocketEndpoint } from './client/websocket.js'
export type { CollectionChange, CollectionMessage, RowKey } from './collections/changes.js'
export type { LiveCollectionOptions, LiveCollectionUtils } from './collections/live-collection.js'
export { liveCollectionOptions } from './collections/live-collection.js'
export { liveQueryOptions } from './collections/live-query.js'
export type { CollectionRequestOptions } from './collections/protocol.js'
export { collectionSnapshot, collectionWrite } from './collections/protocol.js'
export type { LiveCollectionConfig } from './collections/shared-collection.js'
export { sharedCollection } from './collections/shared-collection.js'
export * from './errors.js'
export type { RateLimit, ServerLimits, StreamPosition, WireMember, WriteOp } from './protocol.js'
export { MAX_JSON_DEPTH, MAX_REWIND, PROTOCOL_VERSION, REFUSAL_PARAM } from './protocol.js'
export type { SchemaIssue, StandardSchemaV1 } from './schema.js'
export type { Observable } from './store.js'
