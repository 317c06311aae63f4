'use client'
/**
 * `@tanstack/react-realtime`: a provider and hooks over the TanStack Realtime client. The hooks
 * only wire the core's observers into React (`useSyncExternalStore`); reconnects, ref counting,
 * throttling and presence live in `@tanstack/realtime`.
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
  SubscriptionState,
  SubscriptionStatus,
} from '@tanstack/realtime'
export { defineChannel, presenceChannel } from '@tanstack/realtime'
export { MissingProviderError } from './context.js'
export type { RealtimeProviderProps } from './RealtimeProvider.js'
export { RealtimeProvider } from './RealtimeProvider.js'
export type { UsePresenceOptions, UsePresenceResult } from './usePresence.js'
export { usePresence } from './usePresence.js'
export { usePublish } from './usePublish.js'
export type { UseRealtimeResult } from './useRealtime.js'
export { useRealtime } from './useRealtime.js'
export type { UseSubscribeOptions } from './useSubscribe.js'
export { useSubscribe } from './useSubscribe.js'
