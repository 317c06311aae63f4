'use client'
// Everything from @tanstack/react-db (which re-exports @tanstack/db): the collections this hook creates
// are then always of the TanStack DB copy its useLiveQuery reads.
import {
  type Collection,
  type CollectionConfig,
  createCollection,
  type NonSingleResult,
  useLiveQuery,
} from '@tanstack/react-db'
import type { LiveCollectionUtils, RealtimeClient, RowKey } from '@tanstack/realtime'
import { useMemo } from 'react'

type LiveConfig<T extends object, K extends RowKey> = CollectionConfig<T, K, never, LiveCollectionUtils> & {
  id: string
  utils: LiveCollectionUtils
}

/** One collection per client and channel, so every component (and every render) shares it. */
const collections = new WeakMap<RealtimeClient, Map<string, Collection<any, any, LiveCollectionUtils>>>()

function collectionFor<T extends object, K extends RowKey>(
  config: LiveConfig<T, K>,
): Collection<T, K, LiveCollectionUtils> {
  let byId = collections.get(config.utils.client)
  if (!byId) {
    byId = new Map()
    collections.set(config.utils.client, byId)
  }
  let collection = byId.get(config.id)
  if (!collection) {
    collection = createCollection(config) as Collection<any, any, LiveCollectionUtils>
    byId.set(config.id, collection)
  }
  return collection as Collection<T, K, LiveCollectionUtils>
}

/** What {@link useLiveCollection} returns. */
export interface UseLiveCollectionResult<T extends object, K extends RowKey> {
  /** The rows, optimistic changes included (empty until the first snapshot). */
  data: T[]
  /** The collection, for `insert`, `update` and `delete` (optimistic, confirmed by the server). */
  collection: Collection<T, K, LiveCollectionUtils>
  /** TanStack DB's collection status (`loading`, `ready`, `error`, ...). */
  status: string
  isLoading: boolean
  isReady: boolean
  isError: boolean
}

/**
 * The live rows of a channel-backed collection and the collection itself, in one call: pass the
 * options from `liveCollectionOptions()` (calling it on every render is fine: components using the
 * same client and channel share one collection). Rows include optimistic changes and re-render on
 * every change; the collection stops syncing after its `gcTime` once no component uses it.
 *
 * For filtered or sorted views, use `useLiveQuery` from `@tanstack/react-db` over `collection`
 * (`liveQueryOptions()` types the query).
 *
 * @example
 * ```tsx
 * import { liveCollectionOptions } from '@tanstack/realtime'
 * import { useLiveCollection } from '@tanstack/react-realtime/collections'
 *
 * function Todos({ teamId }: { teamId: string }) {
 *   const { data: todos, collection } = useLiveCollection(
 *     liveCollectionOptions({ client, channel: todosChannel, params: { teamId }, getId: (todo: Todo) => todo.id }),
 *   )
 *   return <ul>{todos.map((t) => <li key={t.id} onClick={() => collection.delete(t.id)}>{t.title}</li>)}</ul>
 * }
 * ```
 */
export function useLiveCollection<T extends object, K extends RowKey>(
  config: LiveConfig<T, K>,
): UseLiveCollectionResult<T, K> {
  const client = config.utils.client
  const id = config.id
  // biome-ignore lint/correctness/useExhaustiveDependencies: the collection is identified by client and id
  const collection = useMemo(() => collectionFor(config), [client, id])
  const { data, status, isLoading, isReady, isError } = useLiveQuery(collection as typeof collection & NonSingleResult)
  return { data: (data ?? []) as T[], collection, status, isLoading, isReady, isError }
}
