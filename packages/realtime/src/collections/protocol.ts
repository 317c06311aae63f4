import type { ChannelKey } from '../channel.js'
import type { ClientCore, RealtimeClient } from '../client/client.js'
import { InvalidError } from '../errors.js'
import { MAX_WRITE_OPS, type StreamPosition, type WriteOp } from '../protocol.js'

/** Options of {@link collectionSnapshot} and {@link collectionWrite}. */
export interface CollectionRequestOptions {
  /** How long to wait for the server. Default: the client's `requestTimeoutMs`. */
  timeoutMs?: number
}

/**
 * Collection protocol: the rows of a collection channel and the stream position they reflect.
 * Live collections call it (see `liveCollectionOptions`); it connects lazily.
 *
 * @param client - a client from `createRealtimeClient`
 * @throws {ForbiddenError} without `subscribe` permission; {@link InvalidError} when the server serves
 *   no collection on this channel; {@link TimeoutError} {@link OfflineError} (as rejections).
 * @example
 * ```ts
 * const { rows, seq, epoch } = await collectionSnapshot<Todo>(client, ['todos', { teamId: '123' }])
 * ```
 */
export async function collectionSnapshot<T = unknown>(
  client: RealtimeClient,
  channel: ChannelKey<any, any>,
  options: CollectionRequestOptions = {},
): Promise<{ rows: T[]; seq: number; epoch: string }> {
  const ack = await (client as unknown as ClientCore).call(channel, { t: 'snap' }, options.timeoutMs)
  return { rows: (ack.rows ?? []) as T[], seq: ack.seq ?? 0, epoch: ack.epoch ?? '' }
}

/**
 * Collection protocol: asks the server to apply row changes; resolves with the position of the
 * resulting change message on the channel. Like a publish, it carries an idempotency key: sent again
 * after a dropped connection, it is applied once.
 *
 * @param client - a client from `createRealtimeClient`
 * @throws the error the server's `write` handler threw (such as {@link InvalidError}), or
 *   {@link ForbiddenError} without `publish` permission (as rejections).
 * @example
 * ```ts
 * const position = await collectionWrite(client, ['todos', { teamId: '123' }], [{ type: 'delete', key: 'b' }])
 * ```
 */
export async function collectionWrite(
  client: RealtimeClient,
  channel: ChannelKey<any, any>,
  ops: WriteOp[],
  options: CollectionRequestOptions = {},
): Promise<StreamPosition> {
  if (ops.length > MAX_WRITE_OPS) {
    throw new InvalidError(`At most ${MAX_WRITE_OPS} row changes per write; split the transaction.`)
  }
  const ack = await (client as unknown as ClientCore).call(channel, { t: 'write', ops }, options.timeoutMs)
  return { seq: ack.seq ?? 0, epoch: ack.epoch ?? '' }
}
