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
import { Frame, type LogRead } from '@tanstack/realtime/server'
import type { ChannelKeys } from './keys.js'

/** What a feed hands its channel, in this process. */
export interface FeedListener {
  /** A message, in sequence order, delivered once. */
  message(seq: number, frame: Frame): void
  /** A presence event another process published (this process's own were delivered when announced). */
  presence(frame: Frame, originCid: string): void
  /** The feed lost continuity: every subscriber must catch up from its own position (or reset). */
  reset(): void
  /** Connection `cid`'s membership was taken over by a connection on process `owner` (not this one). */
  claimed(cid: string, owner: string): void
}

/** What a feed needs from its store. */
export interface FeedHost {
  /** This process's id: presence events it published itself are not delivered twice. */
  readonly processId: string
  /** Subscribes the feed's `receive` to its pub/sub channel; resolves once Redis confirmed it. */
  subscribe(feed: Feed): Promise<void>
  /** The position and the kept messages after `after`. */
  read(keys: ChannelKeys, after: number): Promise<LogRead>
  /** How long a subscriber's catch-up waits for the feed to deliver up to the position it read. */
  readonly catchUpMs: number
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
  /** Catch-ups waiting for the feed to deliver up to a position. */
  #waiting: Array<{ position: StreamPosition; done: () => void }> = []

  constructor(
    readonly keys: ChannelKeys,
    readonly host: FeedHost,
    readonly listener: FeedListener,
  ) {}

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
    if (this.#state === 'live' || this.#state === 'closed') return Promise.resolve()
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

  /**
   * Resolves once the feed delivered every message up to `position` (read from Redis by a
   * subscriber's catch-up), so the subscriber, holding what arrives until its ack, gets each message
   * once: the ones up to the position are dropped when it goes live, later ones come after. Resolves
   * anyway after `catchUpMs` (a stalled feed then means a message may reach it twice; clients drop
   * repeats by sequence number).
   */
  reached(position: StreamPosition): Promise<void> {
    if (this.#reached(position)) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.host.catchUpMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#waiting.push({ position, done })
    })
  }

  #reached(position: StreamPosition): boolean {
    return (
      this.#state === 'closed' ||
      (this.#state === 'live' && (position.epoch !== this.#epoch || position.seq <= this.#last))
    )
  }

  #wake(): void {
    if (this.#waiting.length === 0) return
    const waiting = this.#waiting
    this.#waiting = []
    for (const waiter of waiting) {
      if (this.#reached(waiter.position)) waiter.done()
      else this.#waiting.push(waiter)
    }
  }

  /** Stops delivering; the store unsubscribes. */
  close(): void {
    this.#state = 'closed'
    this.#held = []
    this.#wake()
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
        // This process delivered its own events when it announced them.
        if (payload.slice(1, space) === this.host.processId) return
        const second = payload.indexOf(' ', space + 1)
        this.listener.presence(new Frame(payload.slice(second + 1)), payload.slice(space + 1, second))
        return
      }
      case 'c': {
        const owner = payload.slice(space + 1)
        if (owner !== this.host.processId) this.listener.claimed(payload.slice(1, space), owner)
        return
      }
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
      read = await this.host.read(this.keys, first ? Number.MAX_SAFE_INTEGER : this.#last)
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
    this.#wake()
    if (this.#overflow && this.#state === 'live') {
      this.#overflow = false
      await this.#sync()
    }
  }

  #deliver(seq: number, frame: Frame): void {
    this.listener.message(seq, frame)
    if (this.#waiting.length > 0) this.#wake()
  }

  #resetListeners(): void {
    this.listener.reset()
    this.#wake()
  }
}
