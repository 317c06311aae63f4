/**
 * `@tanstack/svelte-realtime`: a context and rune-based helpers over the TanStack Realtime client. The
 * helpers only wire the core's observers into Svelte 5 state; reconnects, ref counting, throttling and
 * presence live in `@tanstack/realtime`. The package ships `.svelte.js` modules, compiled by the app's
 * Svelte plugin (`@sveltejs/vite-plugin-svelte`, SvelteKit).
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
export { MissingProviderError, setRealtimeClient } from './context.js'
export type { MaybeGetter } from './reactive.svelte.js'
export type { UsePresenceOptions, UsePresenceResult } from './usePresence.svelte.js'
export { usePresence } from './usePresence.svelte.js'
export { usePublish } from './usePublish.js'
export type { UseRealtimeResult } from './useRealtime.js'
export { useRealtime } from './useRealtime.js'
export type { UseSubscribeOptions } from './useSubscribe.svelte.js'
export { useSubscribe } from './useSubscribe.svelte.js'
