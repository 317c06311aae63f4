import type { CollectionConfig, SyncConfig } from '@tanstack/db'
import { type AnyChannelDefinition, type ChannelKey, resolveChannel, serializeChannelKey } from '../channel.js'
import { type Backoff, backoffDelay, DEFAULT_BACKOFF } from '../client/backoff.js'
import type { RealtimeClient } from '../client/client.js'
import type { RealtimeError } from '../errors.js'
import type { StreamPosition, WriteOp } from '../protocol.js'
import { clearTimer, logError, setTimer, type TimerHandle } from '../runtime.js'
import { type CollectionChange, changesOf, type RowKey } from './changes.js'
import { collectionSnapshot, collectionWrite } from './protocol.js'

/** Options of {@link liveCollectionOptions}. */
export interface LiveCollectionOptions<T extends object, K extends RowKey, P extends object | void> {
  /** The realtime client. */
  client: RealtimeClient
  /** The channel: a definition from `defineChannel()` (with `params`) or a raw key. */
  channel: AnyChannelDefinition | ChannelKey<any, any>
  /** The channel's params, when `channel` is a definition. */
  params?: P
  /** The row's key. */
  getId: (row: T) => K
  /** The collection id. Default `realtime:<serialized channel key>`. */
  id?: string
  /** How long an unused collection lives before it stops syncing (TanStack DB's `gcTime`). */
  gcTime?: number
  /**
   * Turns a channel message into row changes. Default: reads `{ changes: [...] }`
   * ({@link CollectionMessage}); messages it returns `undefined` for are ignored.
   */
  toChanges?: (message: unknown) => CollectionChange<T>[] | undefined
}

/** What a live collection adds to `collection.utils`. */
export interface LiveCollectionUtils extends Record<string, unknown> {
  /** The serialized channel key the collection follows. */
  readonly channel: string
  /** The client the collection syncs through. */
  readonly client: RealtimeClient
  /** Takes a fresh snapshot and reconciles the rows with it (only real differences are written). */
  refetch: () => Promise<void>
}

type Waiter = { position: StreamPosition; resolve: () => void }

/**
 * A TanStack DB collection options creator for rows kept live by a realtime channel.
 *
 * The collection subscribes to the channel, loads a snapshot from the server (the server's
 * `collections` option serves it), then applies the channel's changes in order with no gap
 * between the two. When the connection drops, missed changes are replayed; when the server's
 * history no longer covers the gap, a fresh snapshot is reconciled by diff, so live queries only
 * see real changes. Local `insert`, `update` and `delete` are optimistic: they are sent to the
 * server, and the mutation settles once the server's broadcast of it has been applied, so rows
 * never flicker; a rejected write rolls back and rejects with the server's typed error.
 *
 * @throws {InvalidChannelKeyError} for an invalid channel key.
 * @example
 * ```ts
 * import { createCollection } from '@tanstack/db'
 *
 * const todos = createCollection(
 *   liveCollectionOptions({ client, channel: todosChannel, params: { teamId }, getId: (todo: Todo) => todo.id }),
 * )
 * todos.insert({ id: crypto.randomUUID(), title: 'Write docs', done: false })
 * ```
 */
export function liveCollectionOptions<
  T extends object = Record<string, any>,
  K extends RowKey = RowKey,
  P extends object | void = any,
>(
  options: LiveCollectionOptions<T, K, P>,
): CollectionConfig<T, K, never, LiveCollectionUtils> & {
  id: string
  utils: LiveCollectionUtils
} {
  const { client, getId } = options
  const key = resolveChannel<ChannelKey>(options.channel as ChannelKey, options.params as object | undefined)
  const ch = serializeChannelKey(key)
  const toChanges = options.toChanges ?? (changesOf as (message: unknown) => CollectionChange<T>[] | undefined)
  let refetch: () => Promise<void> = async () => {}
  /** Where the synced rows stand; mutation handlers wait until it covers their write. */
  let applied: StreamPosition | undefined
  const waiters = new Set<Waiter>()
  /** Whether a sync run is going (false once its cleanup ran; undefined before the first). */
  let syncing: boolean | undefined

  /** Epochs the rows have moved past (a reset replaced them with a later snapshot). */
  const pastEpochs = new Set<string>()

  /**
   * Whether the synced rows reflect a write the server acknowledged at `position`: same epoch and
   * far enough, or an epoch already replaced by a later snapshot (which was read after the write).
   * An epoch not seen yet is newer: its reset snapshot is still to come.
   */
  const covered = (position: StreamPosition) =>
    applied !== undefined &&
    (applied.epoch === position.epoch ? applied.seq >= position.seq : pastEpochs.has(position.epoch))

  const settleWaiters = () => {
    for (const waiter of waiters) {
      if (covered(waiter.position)) {
        waiters.delete(waiter)
        waiter.resolve()
      }
    }
  }

  /** Sends local mutations and resolves once the server's echo (or a later snapshot) is applied. */
  const send = async (ops: WriteOp[]) => {
    const position = await collectionWrite(client, key, ops)
    if (syncing === false || covered(position)) return // nothing syncs any more: nothing to wait for
    await new Promise<void>((resolve) => waiters.add({ position, resolve }))
  }

  const sync: SyncConfig<T, K>['sync'] = ({ begin, write, commit, markReady, markError }) => {
    syncing = true
    const synced = new Map<K, T>()
    /** Changes that arrived while a snapshot was loading; null when live. */
    let buffer: Array<{ seq: number; changes: CollectionChange<T>[] }> | null = []
    let loads = 0
    let ready = false
    let stopped = false

    /** Writes the difference between the synced rows and `next` in one transaction. */
    const writeAll = (next: ReadonlyArray<{ type: 'upsert'; value: T } | { type: 'delete'; key: K }>) => {
      let open = false
      const emit = (message: Parameters<typeof write>[0]) => {
        if (!open) {
          begin()
          open = true
        }
        write(message)
      }
      for (const change of next) {
        if (change.type === 'delete') {
          if (synced.delete(change.key)) emit({ type: 'delete', key: change.key })
          continue
        }
        const rowKey = getId(change.value)
        const previous = synced.get(rowKey)
        synced.set(rowKey, change.value)
        // An insert for a key already synced would throw DuplicateKeySyncError: it becomes an update.
        if (previous === undefined) emit({ type: 'insert', value: change.value })
        else if (!sameJson(previous, change.value)) emit({ type: 'update', value: change.value })
      }
      if (open) commit()
    }

    const apply = (changes: CollectionChange<T>[]) =>
      writeAll(
        changes.map((change) =>
          change.type === 'delete' ? { type: 'delete', key: change.key as K } : { type: 'upsert', value: change.value },
        ),
      )

    /** Failed snapshots in a row (the backoff's exponent). */
    let failures = 0
    let retryTimer: TimerHandle | undefined

    /** Takes a snapshot and reconciles the rows with it; rejects when the snapshot fails. */
    const load = async () => {
      const attempt = ++loads
      clearTimer(retryTimer)
      // Everything delivered before this request is in the snapshot (the server reads its position
      // after receiving it); only what arrives from now on must be kept for after it.
      buffer = []
      const snapshot = await collectionSnapshot<T>(client, key)
      if (stopped || attempt !== loads) return
      const keep = new Set(snapshot.rows.map(getId))
      writeAll([
        ...[...synced.keys()]
          .filter((rowKey) => !keep.has(rowKey))
          .map((rowKey) => ({ type: 'delete' as const, key: rowKey })),
        ...snapshot.rows.map((value) => ({ type: 'upsert' as const, value })),
      ])
      const pending = buffer ?? []
      buffer = null
      if (applied && applied.epoch !== snapshot.epoch) pastEpochs.add(applied.epoch)
      applied = { seq: snapshot.seq, epoch: snapshot.epoch }
      for (const message of pending) {
        if (message.seq > applied.seq) {
          apply(message.changes)
          applied.seq = message.seq
        }
      }
      failures = 0
      if (!ready) {
        ready = true
        markReady()
      }
      settleWaiters()
    }

    /** A snapshot failed: retry with backoff (changes keep being buffered meanwhile, bounded by one request). */
    const failed = (error: unknown) => {
      if (stopped) return
      if (!ready) markError(error)
      else logError(`could not reload the collection on ${ch}; retrying`, error)
      // The client's retry policy (its `reconnect` option), like every other retry.
      const backoff = (client as { backoff?: Backoff }).backoff ?? DEFAULT_BACKOFF
      retryTimer = setTimer(reload, backoffDelay(failures++, backoff))
    }
    const reload = () => load().catch(failed)
    // A refetch the caller asked for rejects when it fails, and is retried like any other.
    refetch = () =>
      load().catch((error: unknown) => {
        failed(error)
        throw error
      })

    const unsubscribe = client.subscribe(
      key,
      (message, { seq }) => {
        // Every message moves the position, even one that carries no changes for this collection.
        const changes = toChanges(message) ?? []
        if (buffer) buffer.push({ seq, changes })
        else if (applied && seq > applied.seq) {
          apply(changes)
          applied.seq = seq
          settleWaiters()
        }
      },
      {
        // The first time the server is live, take the snapshot; later reconnects replay what was missed.
        onLive: () => {
          if (loads === 0) void reload()
        },
        // History no longer covers the gap: reconcile with a fresh snapshot.
        onReset: () => void reload(),
        onError: (error: RealtimeError) => {
          if (!ready) markError(error)
        },
      },
    )

    return () => {
      stopped = true
      syncing = false
      clearTimer(retryTimer)
      unsubscribe()
      // Nothing will apply the echo any more; let pending mutations settle.
      for (const waiter of waiters) waiter.resolve()
      waiters.clear()
    }
  }

  return {
    id: options.id ?? `realtime:${ch}`,
    getKey: getId,
    ...(options.gcTime !== undefined && { gcTime: options.gcTime }),
    sync: { sync, rowUpdateMode: 'full' },
    onInsert: async ({ transaction }) => {
      await send(
        transaction.mutations.map((m) => ({
          type: 'insert',
          key: m.key,
          value: m.modified as Record<string, unknown>,
        })),
      )
    },
    onUpdate: async ({ transaction }) => {
      await send(
        transaction.mutations.map((m) => ({
          type: 'update',
          key: m.key,
          value: m.modified as Record<string, unknown>,
        })),
      )
    },
    onDelete: async ({ transaction }) => {
      await send(transaction.mutations.map((m) => ({ type: 'delete', key: m.key })))
    },
    utils: {
      channel: ch,
      client,
      refetch: () => refetch(),
    },
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const aKeys = Object.keys(a)
  if (aKeys.length !== Object.keys(b).length) return false
  return aKeys.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
