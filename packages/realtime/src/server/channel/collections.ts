import type { ChannelKey } from '../../channel.js'
import type { CollectionChange } from '../../collections/changes.js'
import type { WriteOp } from '../../protocol.js'

/**
 * Serves a collection channel: where its rows come from and how client writes are applied.
 * Register sources by channel name in the server's `collections` option. `I` is the identity each
 * call receives: on the Node server what `getAuthToken` returned, on Workers the connection's user id
 * (`CollectionSource<string>`). A write retried with an idempotency key is not applied twice.
 *
 * @example
 * ```ts
 * createNodeServer({
 *   getAuthToken,
 *   collections: {
 *     todos: {
 *       load: ([, params]) => db.todos.where({ teamId: params.teamId }),
 *       write: async (ops, { identity }) => {
 *         if (!identity) throw new ForbiddenError()
 *         await db.todos.apply(ops)
 *       },
 *     },
 *   },
 * })
 * ```
 */
export interface CollectionSource<I = unknown, T extends object = any> {
  /** The rows for a channel key (its params select them). Called for every snapshot a client asks for. */
  load(channel: ChannelKey, identity: I): readonly T[] | Promise<readonly T[]>
  /**
   * Applies writes from a client that may `publish` on the channel. Throw a `RealtimeError` (such as
   * `InvalidError` or `ForbiddenError`) to reject them: the client rolls back and gets that error.
   * Return the changes to broadcast (for rows the server changed, such as timestamps), or nothing to
   * broadcast the ops as they came. Without `write` the collection is read-only.
   */
  write?(
    ops: WriteOp[],
    context: { channel: ChannelKey; identity: I },
  ): CollectionChange<T>[] | undefined | Promise<CollectionChange<T>[] | undefined>
}
