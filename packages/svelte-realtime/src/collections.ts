/**
 * `@tanstack/svelte-realtime/collections`: Svelte access to live collections. A separate entry so apps
 * that only use the other helpers need neither `@tanstack/db` nor `@tanstack/svelte-db`.
 *
 * @module
 */
export type { UseLiveCollectionResult } from './useLiveCollection.svelte.js'
export { useLiveCollection } from './useLiveCollection.svelte.js'
