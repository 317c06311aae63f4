import { type LiveCollectionConfig, type LiveCollectionUtils, type RowKey, sharedCollection } from '@tanstack/realtime'
// Everything from @tanstack/vue-db (which re-exports @tanstack/db): the collections made here are then
// always of the TanStack DB copy its useLiveQuery reads.
import { type Collection, createCollection, type NonSingleResult, useLiveQuery } from '@tanstack/vue-db'
import { type ComputedRef, computed, type MaybeRefOrGetter, toValue } from 'vue'

/** What {@link useLiveCollection} returns (refs). */
export interface UseLiveCollectionResult<T extends object, K extends RowKey> {
  /** The rows, optimistic changes included (empty until the first snapshot). */
  data: ComputedRef<T[]>
  /** The collection, for `insert`, `update` and `delete` (optimistic, confirmed by the server). */
  collection: ComputedRef<Collection<T, K, LiveCollectionUtils>>
  /** TanStack DB's collection status (`loading`, `ready`, `error`, ...). */
  status: ComputedRef<string>
  isLoading: ComputedRef<boolean>
  isReady: ComputedRef<boolean>
  isError: ComputedRef<boolean>
}

/**
 * The live rows of a channel-backed collection and the collection itself, as refs, through
 * `useLiveQuery` from `@tanstack/vue-db`. Pass the options from `liveCollectionOptions()`, or a getter
 * of them when they depend on props (the rows then follow the collection of the current params).
 * Components using the same client and channel share one collection; it stops syncing after its
 * `gcTime` once no component uses it.
 *
 * @example
 * ```ts
 * const { data: todos, collection } = useLiveCollection(() =>
 *   liveCollectionOptions({ client, channel: todosChannel, params: { teamId: props.teamId }, getId: (t: Todo) => t.id }),
 * )
 * ```
 */
export function useLiveCollection<T extends object, K extends RowKey>(
  config: MaybeRefOrGetter<LiveCollectionConfig<T, K>>,
): UseLiveCollectionResult<T, K> {
  // A ref, not a getter: `useLiveQuery` takes a function for a query builder.
  const { data, collection, status, isLoading, isReady, isError } = useLiveQuery(
    computed(
      () =>
        sharedCollection(toValue(config), createCollection) as Collection<T, K, LiveCollectionUtils> & NonSingleResult,
    ),
  )
  return { data, collection, status, isLoading, isReady, isError }
}
