/**
 * `@tanstack/solid-realtime`: a provider and primitives over the TanStack Realtime client. The
 * primitives only wire the core's observers into Solid signals; reconnects, ref counting, throttling
 * and presence live in `@tanstack/realtime`.
 *
 * @module
 */
export type {
  ChannelDefinition,
  ChannelKey,
  ConnectionStatus,
  PresenceChannelDefinition,
  PresenceMember,
  PresenceSnapshot,
  RealtimeClient,
} from '@tanstack/realtime'
export { defineChannel, presenceChannel } from '@tanstack/realtime'
export type { RealtimeProviderProps } from './context.js'
export { MissingProviderError, RealtimeProvider } from './context.js'
export type { MaybeAccessor } from './reactive.js'
export type { UsePresenceOptions, UsePresenceResult } from './usePresence.js'
export { usePresence } from './usePresence.js'
export { usePublish } from './usePublish.js'
export type { UseRealtimeResult } from './useRealtime.js'
export { useRealtime } from './useRealtime.js'
export type { UseSubscribeOptions } from './useSubscribe.js'
export { useSubscribe } from './useSubscribe.js'
