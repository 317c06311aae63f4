import type { WriteOp } from '../protocol.js'

/** A row key: what `getId` returns. */
export type RowKey = string | number

/**
 * One change to the rows of a collection channel. Inserts and updates carry the whole row;
 * deletes carry the key. Applying a change twice has no further effect.
 */
export type CollectionChange<T extends object = Record<string, unknown>> =
  | { type: 'insert'; value: T }
  | { type: 'update'; value: T }
  | { type: 'delete'; key: RowKey }

/**
 * The message a collection channel carries: `{ changes }`. Publish it from the server to push
 * changes to every live collection on the channel:
 *
 * @example
 * ```ts
 * await publish(['todos', { teamId: '123' }], { changes: [{ type: 'insert', value: todo }] })
 * ```
 */
export interface CollectionMessage<T extends object = Record<string, unknown>> {
  changes: CollectionChange<T>[]
}

/** The changes a list of client write ops stands for (what the server broadcasts by default). */
export function changesFromOps(ops: readonly WriteOp[]): CollectionChange[] {
  return ops.map((op) => (op.type === 'delete' ? { type: 'delete', key: op.key } : { type: op.type, value: op.value }))
}

/** Reads `{ changes }` from a channel message; `undefined` when the message is not one. */
export function changesOf(message: unknown): CollectionChange[] | undefined {
  if (typeof message !== 'object' || message === null) return undefined
  const changes = (message as { changes?: unknown }).changes
  return Array.isArray(changes) ? (changes as CollectionChange[]) : undefined
}
