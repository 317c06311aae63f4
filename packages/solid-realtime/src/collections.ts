/**
 * `@tanstack/solid-realtime/collections`: Solid access to live collections. A separate entry so apps that
 * only use the primitives need neither `@tanstack/db` nor `@tanstack/solid-db`.
 *
 * @module
 */
export type { UseLiveCollectionResult } from './useLiveCollection.js'
export { useLiveCollection } from './useLiveCollection.js'
