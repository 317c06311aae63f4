import type { Context, LiveQueryCollectionConfig } from '@tanstack/db'

/**
 * Types a live query over live collections once, so the same options work with every TanStack DB
 * live-query API: `useLiveQuery(options)`, `createLiveQueryCollection(options)`,
 * `createCollection(liveQueryCollectionOptions(options))` and `collection.preload()`.
 *
 * @example
 * ```ts
 * const openTodos = liveQueryOptions({
 *   query: (q) =>
 *     q.from({ todo: todos }).where(({ todo }) => eq(todo.done, false)).orderBy(({ todo }) => todo.title),
 * })
 * const { data } = useLiveQuery(openTodos)
 * ```
 */
export function liveQueryOptions<TContext extends Context>(
  options: LiveQueryCollectionConfig<TContext>,
): LiveQueryCollectionConfig<TContext> {
  return options
}
