/**
 * A channel's message log in Redis: the sequence number and epoch (hash `meta`), the last
 * `historySize` messages (stream `stream`, entry id = seq) and their idempotency keys (hash `idem`).
 * One script per append and per read, so each is one round trip and atomic.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import { encodeMessageFrame, Frame, randomId } from '@tanstack/realtime/server'
import type { RedisConnection } from './connection.js'
import type { ChannelKeys } from './keys.js'
import { APPEND, READ } from './scripts.js'

/** One kept message with its `msg` frame. */
export interface LoggedMessage {
  readonly seq: number
  readonly frame: Frame
}

/** The position and some kept messages, read atomically. */
export interface LogRead {
  position: StreamPosition
  /** Oldest first. */
  messages: LoggedMessage[]
}

/** What {@link RedisLog.append} returns. */
export interface Appended extends StreamPosition {
  /** True when the idempotency key named a kept message: nothing was appended, `seq` is that message's. */
  duplicate: boolean
}

/** Settings of the log (see `createRedisBroker`). */
export interface LogSettings {
  historySize: number
  historyTtlMs: number
}

type Entry = [id: string, fields: string[]]

/** Appends to and reads the logs of every channel. */
export class RedisLog {
  constructor(
    readonly redis: RedisConnection,
    readonly settings: LogSettings,
  ) {}

  /**
   * Appends a message (its data as JSON) and publishes it to every process subscribed to the
   * channel, in one round trip. With an idempotency key a kept message carries, appends nothing.
   */
  async append(keys: ChannelKeys, dataJson: string, idem = ''): Promise<Appended> {
    const { historySize, historyTtlMs } = this.settings
    const [seq, epoch, duplicate] = await this.redis.eval(
      APPEND,
      [keys.meta, keys.stream, keys.idem],
      [keys.chJson, dataJson, idem, historySize, historyTtlMs, randomId(12), this.redis.publishCommand, keys.pubsub],
    )
    return { seq: Number(seq), epoch: String(epoch), duplicate: duplicate === 1 }
  }

  /** The position and the kept messages after sequence number `after` (all of them: at most `historySize`). */
  after(keys: ChannelKeys, after: number): Promise<LogRead> {
    return this.#read(keys, 'after', after)
  }

  /** The position and the `count` newest kept messages. */
  last(keys: ChannelKeys, count: number): Promise<LogRead> {
    return this.#read(keys, 'last', count)
  }

  /** The position and, when a kept message carries idempotency key `idem`, that message. */
  find(keys: ChannelKeys, idem: string): Promise<LogRead> {
    return this.#read(keys, 'find', idem)
  }

  /** The position alone (a channel without one starts an epoch here). */
  position(keys: ChannelKeys): Promise<LogRead> {
    return this.#read(keys, 'none', 0)
  }

  /**
   * What a subscriber resuming after `since` gets: the messages it missed, or `reset` when the
   * history no longer covers them (another epoch, or trimmed past it).
   */
  async since(keys: ChannelKeys, since: StreamPosition): Promise<LogRead & { reset: boolean }> {
    const read = await this.after(keys, since.seq)
    const { seq, epoch } = read.position
    const first = read.messages[0]?.seq
    const covered = since.epoch === epoch && since.seq <= seq && (since.seq === seq || first === since.seq + 1)
    return covered ? { ...read, reset: false } : { position: read.position, messages: [], reset: true }
  }

  async #read(keys: ChannelKeys, mode: string, arg: number | string): Promise<LogRead> {
    const [seq, epoch, entries] = (await this.redis.eval(
      READ,
      [keys.meta, keys.stream, keys.idem],
      [mode, arg, randomId(12), this.settings.historyTtlMs],
    )) as [number, string, Entry[]]
    const messages = entries.map(([id, fields]) => {
      const seq = Number.parseInt(id, 10)
      return { seq, frame: new Frame(encodeMessageFrame(keys.chJson, seq, dataOf(fields))) }
    })
    if (mode === 'last') messages.reverse()
    return { position: { seq: Number(seq), epoch: String(epoch) }, messages }
  }
}

/** The `d` field of a stream entry. */
function dataOf(fields: string[]): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'd') return fields[i + 1] ?? 'null'
  return 'null'
}
