/**
 * One channel's fan-out in one process: the pub/sub subscription a process holds while it has local
 * subscribers or members, and the continuity of the messages it hands them. Each message's frame is
 * built once (Redis sends it ready-made) and handed to the local listeners once, in sequence order.
 *
 * Pub/sub may drop messages (a reconnect, a slow subscriber cut off by Redis). A feed knows the
 * last sequence number it delivered, so a gap shows as soon as a later message arrives (or at the
 * next heartbeat, which compares with the channel's position): the feed holds what arrives, reads
 * the missing messages from the stream, delivers them in order, then what it held. When the stream
 * no longer has them (trimmed, or a new epoch: Redis lost the history), the listeners are told to
 * reset their subscribers instead: never a silent gap.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import { Frame } from '@tanstack/realtime/server'
import type { ChannelKeys } from './keys.js'
import type { LogRead } from './log.js'

/** What a feed hands its listeners (the engine's channels implement it). */
export interface FeedListener {
  message(seq: number, frame: Frame): void
  presence(frame: Frame, originCid: string): void
  /** The feed lost continuity: every subscriber must catch up from its own position (or reset). */
  reset?(): void
  /** Connection `cid`'s membership was taken over by a connection on another process. */
  claimed?(cid: string): void
}

/** What a feed needs from its broker. */
export interface FeedHost {
  /** Subscribes the feed's `receive` to its pub/sub channel; resolves once Redis confirmed it. */
  subscribe(feed: Feed): Promise<void>
  /** The position and the kept messages after `after`. */
  readAfter(keys: ChannelKeys, after: number): Promise<LogRead>
  /** Connection `cid`'s membership on this channel now belongs to process `owner`. */
  claimed(feed: Feed, cid: string, owner: string): void
}

interface Incoming {
  seq: number
  epoch: string
  text: string
}

/** Messages a feed holds at most while it catches up; past it, it reads them from the stream again. */
const MAX_HELD = 10_000

/** The pub/sub subscription of one channel in one process. */
export class Feed {
  readonly listeners = new Set<FeedListener>()
  /** The pub/sub listener (one function per feed, to unsubscribe exactly it). */
  readonly receive = (payload: string): void => this.#receive(payload)
  /** `live`: delivering; `syncing`: reading the stream (messages are held meanwhile). */
  #state: 'new' | 'syncing' | 'live' | 'closed' = 'new'
  #subscribed: Promise<void> | undefined
  #epoch = ''
  #last = 0
  #held: Incoming[] = []
  /** Messages were dropped from `#held`: read the stream again after the current read. */
  #overflow = false
  #ready: Promise<void> | undefined

  constructor(
    readonly keys: ChannelKeys,
    readonly host: FeedHost,
  ) {}

  /** The position of the last message delivered (for heartbeats and tests). */
  get position(): StreamPosition {
    return { seq: this.#last, epoch: this.#epoch }
  }

  get live(): boolean {
    return this.#state === 'live'
  }

  /** Settles once the pub/sub subscription asked for (if any) is done or failed: unsubscribe after it. */
  get subscribed(): Promise<unknown> {
    return this.#subscribed?.catch(() => {}) ?? Promise.resolve()
  }

  /**
   * Resolves once the feed is subscribed in Redis and knows the channel's position: from then on,
   * every message after a position read from Redis reaches the listeners. Rejects when Redis is
   * unavailable; the next call tries again.
   */
  ready(): Promise<void> {
    if (this.#state === 'live') return Promise.resolve()
    if (!this.#ready) {
      const attempt = this.#start()
      this.#ready = attempt
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined
      })
    }
    return this.#ready
  }

  async #start(): Promise<void> {
    this.#subscribed ??= this.host.subscribe(this).catch((error) => {
      this.#subscribed = undefined
      throw error
    })
    await this.#subscribed
    if (this.#state === 'new') await this.#sync()
  }

  /**
   * Compares the feed with the channel's position (read by a heartbeat): a feed behind reads what it
   * missed, a feed on another epoch resets its listeners, a feed that could not start tries again.
   */
  check(position: StreamPosition): void {
    if (this.#state === 'closed' || this.#state === 'syncing') return
    if (this.#state === 'new') {
      this.ready().catch(() => {})
      return
    }
    if (position.epoch !== this.#epoch || position.seq > this.#last) this.#sync().catch(() => {})
  }

  /** Pub/sub may have dropped messages (the subscriber reconnected): catch up from the stream. */
  resync(): void {
    if (this.#state === 'live') this.#sync().catch(() => {})
  }

  /** Stops delivering; the broker unsubscribes. */
  close(): void {
    this.#state = 'closed'
    this.#held = []
    this.listeners.clear()
  }

  #receive(payload: string): void {
    if (this.#state === 'closed') return
    const space = payload.indexOf(' ')
    switch (payload[0]) {
      case 'm': {
        const second = payload.indexOf(' ', space + 1)
        const message = {
          seq: Number(payload.slice(1, space)),
          epoch: payload.slice(space + 1, second),
          text: payload.slice(second + 1),
        }
        if (this.#state === 'live') this.#accept(message)
        else this.#hold(message)
        return
      }
      case 'p': {
        const frame = new Frame(payload.slice(space + 1))
        const origin = payload.slice(1, space)
        for (const listener of this.listeners) listener.presence(frame, origin)
        return
      }
      case 'c':
        this.host.claimed(this, payload.slice(1, space), payload.slice(space + 1))
        return
    }
  }

  #hold(message: Incoming): void {
    if (this.#held.length >= MAX_HELD) {
      this.#held = []
      this.#overflow = true
    }
    this.#held.push(message)
  }

  /** A message while live: delivered, dropped (already delivered), or the sign of a gap. */
  #accept(message: Incoming): void {
    if (message.epoch !== this.#epoch) {
      // A new history (Redis lost the channel's state): subscribers must reset.
      this.#epoch = message.epoch
      this.#last = message.seq
      this.#resetListeners()
      this.#deliver(message.seq, new Frame(message.text))
      return
    }
    if (message.seq <= this.#last) return
    if (message.seq === this.#last + 1) {
      this.#last = message.seq
      this.#deliver(message.seq, new Frame(message.text))
      return
    }
    this.#hold(message)
    this.#sync().catch(() => {})
  }

  /**
   * Reads the channel's position and the messages after the last one delivered, delivers them (or
   * resets the listeners when the history does not cover them), then what was held meanwhile.
   * When Redis is unavailable the feed stays behind, holding, until the next heartbeat.
   */
  async #sync(): Promise<void> {
    const first = this.#state === 'new'
    this.#state = 'syncing'
    let read: LogRead
    try {
      // A first read needs the position alone.
      read = await this.host.readAfter(this.keys, first ? Number.MAX_SAFE_INTEGER : this.#last)
    } catch (error) {
      if (this.#state === 'syncing') this.#state = first ? 'new' : 'live'
      // Stay behind: `#last` did not move, so the next message or heartbeat retries.
      throw error
    }
    if (this.#state !== 'syncing') return
    const { position, messages } = read
    if (first) {
      this.#epoch = position.epoch
      this.#last = position.seq
    } else if (position.epoch !== this.#epoch || (this.#last < position.seq && messages[0]?.seq !== this.#last + 1)) {
      this.#epoch = position.epoch
      this.#last = position.seq
      this.#resetListeners()
    } else {
      for (const message of messages) {
        if (message.seq !== this.#last + 1) continue
        this.#last = message.seq
        this.#deliver(message.seq, message.frame)
      }
    }
    this.#state = 'live'
    const held = this.#held
    this.#held = []
    for (const message of held) {
      if (this.#state === 'live') this.#accept(message)
      else this.#hold(message)
    }
    if (this.#overflow && this.#state === 'live') {
      this.#overflow = false
      await this.#sync()
    }
  }

  #deliver(seq: number, frame: Frame): void {
    for (const listener of this.listeners) listener.message(seq, frame)
  }

  #resetListeners(): void {
    for (const listener of this.listeners) listener.reset?.()
  }
}
