import type { Collection, CollectionConfig } from '@tanstack/db'
import type { RealtimeClient } from '../client/client.js'
import type { RowKey } from './changes.js'
import type { LiveCollectionUtils } from './live-collection.js'

/** The options `liveCollectionOptions()` returns. */
export type LiveCollectionConfig<T extends object, K extends RowKey> = CollectionConfig<
  T,
  K,
  never,
  LiveCollectionUtils
> & {
  id: string
  utils: LiveCollectionUtils
}

/** One collection per client and collection id, shared by every component of every framework adapter. */
const collections = new WeakMap<RealtimeClient, Map<string, Collection<any, any, LiveCollectionUtils>>>()

/**
 * The collection for options from `liveCollectionOptions()`, made with `create` on first use and then
 * shared by every caller with the same client and collection id (by default derived from the channel
 * key). The framework adapters' `useLiveCollection` call it on every render with the `createCollection`
 * their TanStack DB adapter re-exports, so the collection is of the TanStack DB copy their
 * `useLiveQuery` reads.
 *
 * @example
 * ```ts
 * import { createCollection } from '@tanstack/vue-db'
 *
 * const todos = sharedCollection(liveCollectionOptions({ client, channel: ['todos'], getId: (t: Todo) => t.id }), createCollection)
 * ```
 */
export function sharedCollection<T extends object, K extends RowKey>(
  config: LiveCollectionConfig<T, K>,
  create: (config: any) => Collection<any, any, any>,
): Collection<T, K, LiveCollectionUtils> {
  let byId = collections.get(config.utils.client)
  if (!byId) {
    byId = new Map()
    collections.set(config.utils.client, byId)
  }
  let collection = byId.get(config.id)
  if (!collection) {
    collection = create(config)
    byId.set(config.id, collection)
  }
  return collection as Collection<T, K, LiveCollectionUtils>
}
