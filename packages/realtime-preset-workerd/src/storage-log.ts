import type { StreamPosition } from '@tanstack/realtime'
import {
  type Appended,
  type ChannelLog,
  type Frame,
  type LoggedMessage,
  type LogRead,
  type MaybePromise,
  messageFrame,
  newEpoch,
} from '@tanstack/realtime/server'

/**
 * Where a channel's log lives in its Durable Object's storage:
 *
 * - `meta`: `{ ch, epoch, seq, touched, keyed? }`: the channel key, its history's epoch, the last
 *   sequence number, when it was last used, and whether a kept message may carry an idempotency key;
 * - `m:<seq, 16 digits>`: one message's `data` as UTF-8 JSON (`{ d, k }` with its idempotency key
 *   `k`), the last `historySize` of them;
 * - `i:<idempotency key>`: the sequence number of the kept message carrying that key.
 *
 * @module
 */

export interface ChannelMeta {
  /** The serialized channel key. */
  ch: string
  epoch: string
  seq: number
  /** When a message was last published or the last socket left (for `historyTtlMs`). */
  touched: number
  /** Set once a message carried an idempotency key: trimming history then removes keys too. */
  keyed?: boolean
}

/** A stored message: its data, or its data and idempotency key. */
type StoredMessage = Uint8Array | { d: Uint8Array; k: string }

export const META_KEY = 'meta'
const MESSAGE_PREFIX = 'm:'
const KEY_PREFIX = 'i:'

/** The storage key of message `seq` (zero-padded, so keys sort in sequence order). */
export function messageKey(seq: number): string {
  return `${MESSAGE_PREFIX}${String(seq).padStart(16, '0')}`
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function toBytes(text: string): Uint8Array {
  return encoder.encode(text)
}

export function fromBytes(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** A new channel's metadata, with a new epoch. */
export function newMeta(ch: string): ChannelMeta {
  return { ch, epoch: newEpoch(), seq: 0, touched: Date.now() }
}

/**
 * The {@link ChannelLog} of a Durable Object: the position in memory (written through to `meta`),
 * messages in storage. Writes are not awaited: the runtime's output gate holds every frame sent
 * after them until they are durable, and storage reads hold other events back (input gate), so
 * nothing is appended between a read and the answer built from it.
 */
export class StorageLog implements ChannelLog {
  readonly #chJson: string

  constructor(
    readonly storage: DurableObjectStorage,
    readonly meta: ChannelMeta,
    readonly historySize: number,
    readonly onError: (error: unknown) => void,
  ) {
    this.#chJson = JSON.stringify(meta.ch)
  }

  position(): StreamPosition {
    return { seq: this.meta.seq, epoch: this.meta.epoch }
  }

  append(dataJson: string, idem?: string): MaybePromise<Appended> {
    if (idem === undefined) return this.#append(dataJson, undefined)
    return this.find(idem).then((kept) =>
      kept ? { seq: kept.seq, epoch: kept.epoch, frame: undefined } : this.#append(dataJson, idem),
    )
  }

  async read(after: number, limit = Number.POSITIVE_INFINITY): Promise<LogRead> {
    const { seq } = this.meta
    const position = this.position()
    const from = Math.max(after + 1, seq - this.#kept() + 1, seq - limit + 1)
    if (from > seq) return { position, messages: [] }
    const stored = await this.storage.list<StoredMessage>({ start: messageKey(from), end: messageKey(seq + 1) })
    let messages: LoggedMessage[] = []
    let expected = from
    for (const [key, value] of stored) {
      const at = Number(key.slice(MESSAGE_PREFIX.length))
      // History is contiguous: anything before a missing message cannot be replayed.
      if (at !== expected) messages = []
      messages.push({ seq: at, frame: this.#frame(at, value) })
      expected = at + 1
    }
    return { position, messages: expected === seq + 1 ? messages : [] }
  }

  async find(idem: string): Promise<StreamPosition | undefined> {
    const seq = await this.storage.get<number>(KEY_PREFIX + idem)
    // A key whose message left the history (or a stale entry) is forgotten.
    if (seq === undefined || seq <= this.meta.seq - this.#kept() || seq > this.meta.seq) return undefined
    return { seq, epoch: this.meta.epoch }
  }

  /** Drops the log from storage: the channel's next use starts a new epoch. */
  async drop(): Promise<void> {
    const keys = [META_KEY]
    for (const prefix of [MESSAGE_PREFIX, KEY_PREFIX]) {
      for (const key of (await this.storage.list({ prefix })).keys()) keys.push(key)
    }
    // `delete` takes at most 128 keys at a time.
    for (let i = 0; i < keys.length; i += 128) await this.storage.delete(keys.slice(i, i + 128))
  }

  /** Records a use of the channel (a publish, the last socket leaving), for `historyTtlMs`. */
  touch(): void {
    this.meta.touched = Date.now()
    this.#persist({ [META_KEY]: { ...this.meta } })
  }

  #append(dataJson: string, idem: string | undefined): Appended {
    const { meta, historySize } = this
    const seq = ++meta.seq
    meta.touched = Date.now()
    if (idem !== undefined) meta.keyed = true
    const entries: Record<string, unknown> = { [META_KEY]: { ...meta } }
    if (historySize > 0) {
      const data = toBytes(dataJson)
      entries[messageKey(seq)] = idem === undefined ? data : { d: data, k: idem }
      if (idem !== undefined) entries[KEY_PREFIX + idem] = seq
    }
    this.#persist(entries)
    if (historySize > 0 && seq > historySize) this.#trim(seq - historySize)
    return { seq, epoch: meta.epoch, frame: messageFrame(this.#chJson, seq, dataJson) }
  }

  /** Deletes message `seq`, which left the history (with its idempotency key, if it had one). */
  #trim(seq: number) {
    const key = messageKey(seq)
    const removed = this.meta.keyed
      ? this.storage.get<StoredMessage>(key).then((value) => {
          const keys = [key]
          if (value && !(value instanceof Uint8Array)) keys.push(KEY_PREFIX + value.k)
          return this.storage.delete(keys)
        })
      : this.storage.delete([key])
    removed.catch(this.onError)
  }

  #frame(seq: number, value: StoredMessage): Frame {
    return messageFrame(this.#chJson, seq, fromBytes(value instanceof Uint8Array ? value : value.d))
  }

  /** Messages kept: the last `historySize`. */
  #kept(): number {
    return Math.min(this.meta.seq, this.historySize)
  }

  #persist(entries: Record<string, unknown>) {
    this.storage.put(entries).catch(this.onError)
  }
}
