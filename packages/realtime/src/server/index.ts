/**
 * `@tanstack/realtime/server`: what servers are made of.
 *
 * - For users: {@link defineServerChannel} (hooks that check and shape a channel's requests),
 *   {@link createRealtimeEngine} (the server the Node preset runs), the options and callback types
 *   (`Authorize`, `Permissions`, `CollectionSource`), and the user id rule.
 * - For storage authors: the ports of a channel (`ChannelStore`, `ChannelLog`, `MemberStore`,
 *   `SubscriberSet`) and the memory implementation, tested by one contract suite.
 * - For host authors (a runtime other than Node or Workers): the channel core and the session,
 *   which hold every rule of the protocol, and the config resolver.
 *
 * @module
 */

export type { CollectionChange, CollectionMessage } from '../collections/changes.js'
export type { RateLimit, WireMember } from '../protocol.js'
export type { ChannelRequest, CoreHost, HistoryMessage } from './channel/channel-core.js'
export { ChannelCore } from './channel/channel-core.js'
export type { CollectionSource } from './channel/collections.js'
export type { MemberEntry } from './channel/member-list.js'
export { MemberList } from './channel/member-list.js'
export type {
  Appended,
  ChannelLog,
  ChannelPorts,
  ChannelStore,
  ExpiredMember,
  LoggedMessage,
  LogRead,
  MaybePromise,
  MemberStore,
  StoredSession,
  SubscriberSet,
} from './channel/ports.js'
export { newEpoch } from './channel/ports.js'
export type {
  ChannelHooks,
  ChannelSpec,
  HookContext,
  JoinContext,
  LeaveContext,
  PublishContext,
  ServerChannel,
  UpdateContext,
} from './channel/server-channel.js'
export { DROP, defineServerChannel } from './channel/server-channel.js'
export { Subscription } from './channel/subscription.js'
export type { ChannelOptions, ServerConfig } from './config.js'
export { DEFAULTS, resolveServerOptions } from './config.js'
export type {
  ConnectionSink,
  EngineConnection,
  EngineOptions,
  EngineStats,
  HistoryOptions,
  RealtimeEngine,
} from './engine.js'
export { createRealtimeEngine } from './engine.js'
export { Frame, messageFrame, resyncFrame } from './frame.js'
export type { MemoryChannelStoreOptions } from './memory/memory-channel-store.js'
export { MemoryChannelStore } from './memory/memory-channel-store.js'
export type { OriginTarget } from './origin.js'
export { originAllowed } from './origin.js'
export type { Authorize, Authorizer, Permissions } from './session/authorize.js'
export { cachedAuthorizer, defaultUserId } from './session/authorize.js'
export type { ResumeCandidate, SessionHost, SessionSink } from './session/session.js'
export { Session } from './session/session.js'
