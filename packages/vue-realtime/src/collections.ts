/**
 * `@tanstack/vue-realtime/collections`: Vue access to live collections. A separate entry so apps that
 * only use the composables need neither `@tanstack/db` nor `@tanstack/vue-db`.
 *
 * @module
 */
export type { UseLiveCollectionResult } from './useLiveCollection.js'
export { useLiveCollection } from './useLiveCollection.js'
