import { type LiveCollectionConfig, type LiveCollectionUtils, type RowKey, sharedCollection } from '@tanstack/realtime'
// Everything from @tanstack/svelte-db (which re-exports @tanstack/db): the collections made here are then
// always of the TanStack DB copy its useLiveQuery reads.
import { type Collection, createCollection, type NonSingleResult, useLiveQuery } from '@tanstack/svelte-db'
import { type MaybeGetter, read } from './reactive.svelte.js'

/** What {@link useLiveCollection} returns (reactive fields: read them as `todos.data`, don't destructure). */
export interface UseLiveCollectionResult<T extends object, K extends RowKey> {
  /** The rows, optimistic changes included (empty until the first snapshot). */
  readonly data: T[]
  /** The collection, for `insert`, `update` and `delete` (optimistic, confirmed by the server). */
  readonly collection: Collection<T, K, LiveCollectionUtils>
  /** TanStack DB's collection status (`loading`, `ready`, `error`, ...). */
  readonly status: string
  readonly isLoading: boolean
  readonly isReady: boolean
  readonly isError: boolean
}

/**
 * The live rows of a channel-backed collection and the collection itself, through `useLiveQuery` from
 * `@tanstack/svelte-db`. Pass the options from `liveCollectionOptions()`, or a getter of them when they
 * depend on props (the rows then follow the collection of the current params). Components using the
 * same client and channel share one collection; it stops syncing after its `gcTime` once no component
 * uses it.
 *
 * @example
 * ```svelte
 * <script>
 *   let { teamId } = $props()
 *   const todos = useLiveCollection(() =>
 *     liveCollectionOptions({ client, channel: todosChannel, params: { teamId }, getId: (t) => t.id }),
 *   )
 * </script>
 * {#each todos.data as todo (todo.id)}<li>{todo.title}</li>{/each}
 * ```
 */
export function useLiveCollection<T extends object, K extends RowKey>(
  config: MaybeGetter<LiveCollectionConfig<T, K>>,
): UseLiveCollectionResult<T, K> {
  const collection = $derived(
    sharedCollection(read(config), createCollection) as Collection<T, K, LiveCollectionUtils> & NonSingleResult,
  )
  const query = useLiveQuery(() => collection)
  return {
    get data() {
      return query.data
    },
    get collection() {
      return collection
    },
    get status() {
      return query.status
    },
    get isLoading() {
      return query.isLoading
    },
    get isReady() {
      return query.isReady
    },
    get isError() {
      return query.isError
    },
  }
}
