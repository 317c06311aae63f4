/**
 * `@tanstack/realtime/collections`: TanStack DB collections kept live by channels. A separate entry
 * because it needs the optional peer dependency `@tanstack/db` (its types and its collections); the
 * main entry does not.
 *
 * @module
 */
export type { CollectionChange, CollectionMessage, RowKey } from './changes.js'
export type { LiveCollectionOptions, LiveCollectionUtils } from './live-collection.js'
export { liveCollectionOptions } from './live-collection.js'
export { liveQueryOptions } from './live-query.js'
