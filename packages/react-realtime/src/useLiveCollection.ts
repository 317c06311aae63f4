'use client'
// Everything from @tanstack/react-db (which re-exports @tanstack/db): the collections this hook creates
// are then always of the TanStack DB copy its useLiveQuery reads.
import { type Collection, createCollection, type NonSingleResult, useLiveQuery } from '@tanstack/react-db'
import { type LiveCollectionConfig, type LiveCollectionUtils, type RowKey, sharedCollection } from '@tanstack/realtime'
import { useMemo } from 'react'

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
  config: LiveCollectionConfig<T, K>,
): UseLiveCollectionResult<T, K> {
  const client = config.utils.client
  const id = config.id
  // biome-ignore lint/correctness/useExhaustiveDependencies: the collection is identified by client and id
  const collection = useMemo(() => sharedCollection(config, createCollection), [client, id])
  const { data, status, isLoading, isReady, isError } = useLiveQuery(collection as typeof collection & NonSingleResult)
  return { data: (data ?? []) as T[], collection, status, isLoading, isReady, isError }
}
