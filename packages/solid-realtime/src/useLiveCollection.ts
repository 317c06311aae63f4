import { type LiveCollectionConfig, type LiveCollectionUtils, type RowKey, sharedCollection } from '@tanstack/realtime'
// Everything from @tanstack/solid-db (which re-exports @tanstack/db): the collections made here are then
// always of the TanStack DB copy its useLiveQuery reads.
import { type Collection, createCollection, type NonSingleResult, useLiveQuery } from '@tanstack/solid-db'
import { createMemo } from 'solid-js'
import { type MaybeAccessor, read } from './reactive.js'

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
 * `@tanstack/solid-db`. Pass the options from `liveCollectionOptions()`, or an accessor of them when
 * they depend on props (the rows then follow the collection of the current params). Components using
 * the same client and channel share one collection; it stops syncing after its `gcTime` once no
 * component uses it.
 *
 * @example
 * ```tsx
 * const todos = useLiveCollection(() =>
 *   liveCollectionOptions({ client, channel: todosChannel, params: { teamId: props.teamId }, getId: (t: Todo) => t.id }),
 * )
 * return <For each={todos.data}>{(todo) => <li onClick={() => todos.collection.delete(todo.id)}>{todo.title}</li>}</For>
 * ```
 */
export function useLiveCollection<T extends object, K extends RowKey>(
  config: MaybeAccessor<LiveCollectionConfig<T, K>>,
): UseLiveCollectionResult<T, K> {
  const collection = createMemo(
    () => sharedCollection(read(config), createCollection) as Collection<T, K, LiveCollectionUtils> & NonSingleResult,
  )
  const query = useLiveQuery(() => collection())
  return {
    get data() {
      return query()
    },
    get collection() {
      return collection()
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
