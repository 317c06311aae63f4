/**
 * A channel's message log in Redis: the sequence number and epoch (hash `meta`), the last
 * `historySize` messages (stream `stream`, entry id = seq) and their idempotency keys (hash `idem`).
 * One script per append and per read, so each is one round trip and atomic.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import { type LogRead, messageFrame, newEpoch } from '@tanstack/realtime/server'
import type { RedisConnection } from './connection.js'
import type { ChannelKeys } from './keys.js'
import { APPEND, READ } from './scripts.js'

/** What {@link RedisLog.append} returns. */
export interface AppendResult extends StreamPosition {
  /** True when the idempotency key named a kept message: nothing was appended, `seq` is that message's. */
  duplicate: boolean
}

/** Settings of the log (see `createRedisStore`). */
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
  async append(keys: ChannelKeys, dataJson: string, idem = ''): Promise<AppendResult> {
    const { historySize, historyTtlMs } = this.settings
    const [seq, epoch, duplicate] = await this.redis.eval(
      APPEND,
      [keys.meta, keys.stream, keys.idem],
      [keys.chJson, dataJson, idem, historySize, historyTtlMs, newEpoch(), this.redis.publishCommand, keys.pubsub],
    )
    return { seq: Number(seq), epoch: String(epoch), duplicate: duplicate === 1 }
  }

  /**
   * The position and the kept messages after sequence number `after` (at most the `limit` newest),
   * oldest first, read atomically.
   */
  read(keys: ChannelKeys, after: number, limit?: number): Promise<LogRead> {
    return this.#read(keys, 'after', after, limit)
  }

  /** The position of the kept message carrying idempotency key `idem`, if any. */
  async find(keys: ChannelKeys, idem: string): Promise<StreamPosition | undefined> {
    const { position, messages } = await this.#read(keys, 'find', idem)
    const found = messages[0]
    return found && { seq: found.seq, epoch: position.epoch }
  }

  /** The position alone (a channel without one starts an epoch here). */
  async position(keys: ChannelKeys): Promise<StreamPosition> {
    return (await this.#read(keys, 'none', 0)).position
  }

  async #read(keys: ChannelKeys, mode: string, arg: number | string, limit = 0): Promise<LogRead> {
    const [seq, epoch, entries] = (await this.redis.eval(
      READ,
      [keys.meta, keys.stream, keys.idem],
      [mode, arg, newEpoch(), this.settings.historyTtlMs, Number.isFinite(limit) ? limit : 0],
    )) as [number, string, Entry[]]
    const messages = entries.map(([id, fields]) => {
      const seq = Number.parseInt(id, 10)
      return { seq, frame: messageFrame(keys.chJson, seq, dataOf(fields)) }
    })
    if (limit > 0 && Number.isFinite(limit)) messages.reverse()
    return { position: { seq: Number(seq), epoch: String(epoch) }, messages }
  }
}

/** The `d` field of a stream entry. */
function dataOf(fields: string[]): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'd') return fields[i + 1] ?? 'null'
  return 'null'
}
