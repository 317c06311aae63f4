import { InvalidOptionsError, type StreamPosition, TimeoutError } from '@tanstack/realtime'
import {
  type Broker,
  type BrokerListener,
  intOption,
  type ReadResult,
  randomId,
  type TakenOver,
  type WireMember,
} from '@tanstack/realtime/server'
import { RedisConnection, type RedisSource } from './connection.js'
import { Feed, type FeedHost } from './feed.js'
import { type ChannelKeys, channelKeys } from './keys.js'
import { type Appended, type LogRead, RedisLog } from './log.js'
import { RedisPresence } from './presence.js'
import { RELEASE, RENEW } from './scripts.js'

/** Settings of {@link createRedisBroker}, besides where Redis is. */
export interface RedisBrokerOptions {
  /** Prefix of every key and pub/sub channel (no braces). Default `'rt:'`. */
  keyPrefix?: string
  /** Messages kept per channel for resume. Default 200. */
  historySize?: number
  /**
   * How long a channel's history outlives its last use (a publish, or a heartbeat of a process with
   * a subscriber or member there). After it the channel starts a new epoch: late resumers reset.
   * Default 120 000 ms.
   */
  historyTtlMs?: number
  /**
   * How long the members of a process that stopped (killed, frozen, cut off from Redis) stay
   * present: after it they leave everywhere, within `presenceTtlMs + heartbeatMs`. Also how long a
   * client may take to resume on another process and keep its presence. Default 10 000 ms.
   */
  presenceTtlMs?: number
  /** How often a process renews its members and checks its channels. At most `presenceTtlMs / 2`. Default 3000 ms. */
  heartbeatMs?: number
  /** The bound on every Redis command: past it, the request fails with a retryable `timeout`. Default 2000 ms. */
  commandTimeoutMs?: number
  /**
   * How long a process may hold a collection channel's write lock without renewing it (it renews it
   * while its `write` handler runs); also how long a write waits for the lock. Default 10 000 ms.
   */
  writeLockMs?: number
  /** Redis connection errors (node-redis reconnects by itself) and heartbeat failures, once per outage. Default `console.error`. */
  onError?: (error: unknown) => void
}

/** Options of {@link createRedisBroker}: where Redis is (a URL, Cluster options or a client of yours) and settings. */
export type CreateRedisBrokerOptions = RedisSource & RedisBrokerOptions

/**
 * Channel state in Redis, shared by every server process using the same Redis: sequence numbers and
 * history (one script per publish), fan-out over (sharded) pub/sub to the processes with local
 * subscribers, presence with per-process liveness, cross-process resume and collection write order.
 * Create it with {@link createRedisBroker}.
 */
export class RedisBroker implements Broker {
  /** This process's id, recorded as the owner of its presence members. */
  readonly processId = randomId(12)
  readonly #redis: RedisConnection
  readonly #log: RedisLog
  readonly #presence: RedisPresence
  readonly #feeds = new Map<string, Feed>()
  readonly #keys = new Map<string, ChannelKeys>()
  readonly #prefix: string
  readonly #historyTtlMs: number
  readonly #writeLockMs: number
  readonly #onError: (error: unknown) => void
  readonly #heartbeat: ReturnType<typeof setInterval>
  /** Requests in flight that `close()` lets finish (leaves, mostly). */
  readonly #inFlight = new Set<Promise<unknown>>()
  #beating = false
  /** Whether the last heartbeat reached Redis (errors are reported once per outage). */
  #healthy = true
  #closed = false

  /** @throws {InvalidOptionsError} for an invalid setting. */
  constructor(options: CreateRedisBrokerOptions) {
    const prefix = options.keyPrefix ?? 'rt:'
    if (/[{}]/.test(prefix)) throw new InvalidOptionsError(`keyPrefix may not contain braces; got "${prefix}".`)
    this.#prefix = prefix
    const historySize = intOption(options.historySize ?? 200, 'historySize', 0)
    this.#historyTtlMs = intOption(options.historyTtlMs ?? 120_000, 'historyTtlMs')
    const presenceTtlMs = intOption(options.presenceTtlMs ?? 10_000, 'presenceTtlMs', 2)
    const heartbeatMs = intOption(options.heartbeatMs ?? Math.min(3000, Math.floor(presenceTtlMs / 2)), 'heartbeatMs')
    if (heartbeatMs > presenceTtlMs / 2) {
      throw new InvalidOptionsError(
        `heartbeatMs (${heartbeatMs}) must be at most presenceTtlMs / 2 (${presenceTtlMs / 2}).`,
      )
    }
    const commandTimeoutMs = intOption(options.commandTimeoutMs ?? 2000, 'commandTimeoutMs')
    this.#writeLockMs = intOption(options.writeLockMs ?? 10_000, 'writeLockMs')
    this.#onError = options.onError ?? ((error) => console.error('[tanstack-realtime-redis]', error))
    this.#redis = new RedisConnection(
      options,
      commandTimeoutMs,
      (error) => this.#report(error),
      () => {
        for (const feed of this.#feeds.values()) feed.resync()
      },
    )
    this.#log = new RedisLog(this.#redis, { historySize, historyTtlMs: this.#historyTtlMs })
    this.#presence = new RedisPresence(
      this.#redis,
      { keyPrefix: prefix, presenceTtlMs, processId: this.processId },
      (ch) => this.#keysOf(ch),
    )
    // Connect now; a failure shows on the first request (each one bounded by the command timeout).
    this.#redis.start().catch(() => {})
    this.#heartbeat = setInterval(() => {
      this.#beat().catch((error) => this.#report(error))
    }, heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Channels this process holds a pub/sub subscription for (with a local subscriber or member). */
  get channels(): number {
    return this.#feeds.size
  }

  /** Whether the broker talks to a Redis Cluster. */
  get cluster(): boolean {
    return this.#redis.cluster
  }

  /**
   * Appends a message and publishes it to every process serving the channel, in one round trip.
   * With an idempotency key `idem` that a kept message carries, appends nothing and returns that
   * message's position with `duplicate: true`.
   */
  publish(channel: string, dataJson: string, idem?: string): Promise<Appended> {
    return this.#log.append(this.#keysOf(channel), dataJson, idem)
  }

  /** The channel's position and its `count` newest kept messages, oldest first (a subscribe's `rewind`). */
  async rewind(channel: string, count: number): Promise<LogRead> {
    await this.#feeds.get(channel)?.ready()
    return this.#log.last(this.#keysOf(channel), count)
  }

  subscribe(channel: string, listener: BrokerListener): void {
    let feed = this.#feeds.get(channel)
    if (!feed) {
      feed = new Feed(this.#keysOf(channel), this.#feedHost)
      this.#feeds.set(channel, feed)
    }
    feed.listeners.add(listener)
    feed.ready().catch(() => {}) // a read waits for it and reports the failure
  }

  unsubscribe(channel: string, listener: BrokerListener): void {
    const feed = this.#feeds.get(channel)
    if (!feed?.listeners.delete(listener) || feed.listeners.size > 0) return
    this.#feeds.delete(channel)
    feed.close()
    feed.subscribed.then(() => this.#redis.unsubscribe(feed.keys.pubsub, feed.receive)).catch(() => {})
  }

  async read(channel: string, since?: StreamPosition): Promise<ReadResult> {
    const keys = this.#keysOf(channel)
    // A subscriber's read comes after its feed is live, so every later message reaches it.
    await this.#feeds.get(channel)?.ready()
    if (since) return this.#log.since(keys, since)
    const { position } = await this.#log.position(keys)
    return { position, messages: [], reset: false }
  }

  presenceJoin(channel: string, member: WireMember, session?: { resumeToken: string }): Promise<WireMember[]> {
    return this.#presence.join(this.#keysOf(channel), member, session?.resumeToken)
  }

  presenceUpdate(channel: string, cid: string, patch: Record<string, unknown>): Promise<boolean> {
    return this.#presence.update(this.#keysOf(channel), cid, patch)
  }

  presenceLeave(channel: string, cid: string): Promise<void> {
    return this.#track(this.#presence.leave(this.#keysOf(channel), cid))
  }

  takeOver(resumeToken: string, uid: string, session: { resumeToken: string }): Promise<TakenOver | undefined> {
    return this.#presence.takeOver(resumeToken, uid, session.resumeToken)
  }

  async exclusive<T>(channel: string, task: () => Promise<T>): Promise<T> {
    const { lock } = this.#keysOf(channel)
    const token = randomId(16)
    const ttl = String(this.#writeLockMs)
    const deadline = Date.now() + this.#writeLockMs
    for (let attempt = 0; ; attempt++) {
      if ((await this.#redis.command(lock, ['SET', lock, token, 'NX', 'PX', ttl])) === 'OK') break
      if (Date.now() >= deadline || attempt >= 10_000) {
        throw new TimeoutError(`Another server held the write lock of ${channel} for ${ttl} ms: retry the write.`)
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 50)))
    }
    const renew = setInterval(
      () => this.#redis.eval(RENEW, [lock], [token, ttl]).catch(() => {}),
      this.#writeLockMs / 3,
    )
    try {
      return await task()
    } finally {
      clearInterval(renew)
      // Not awaited: it goes out before any later command of this process for the channel.
      this.#redis.eval(RELEASE, [lock], [token]).catch(() => {})
    }
  }

  /** Lets requests in flight finish (for at most the command timeout each), then closes the connections it opened. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#heartbeat)
    await Promise.allSettled(this.#inFlight)
    const feeds = [...this.#feeds.values()]
    for (const feed of feeds) feed.close()
    // A Cluster client of yours stays open: without the broker's listeners.
    if (this.#redis.sharedSubscriber) {
      await Promise.allSettled(feeds.map((feed) => this.#redis.unsubscribe(feed.keys.pubsub, feed.receive)))
    }
    this.#feeds.clear()
    await this.#redis.close()
  }

  /** What every feed needs from the broker. */
  readonly #feedHost: FeedHost = {
    subscribe: (feed) => this.#redis.subscribe(feed.keys.pubsub, feed.receive),
    readAfter: (keys, after) => this.#log.after(keys, after),
    claimed: (feed, cid, owner) => {
      if (owner !== this.processId) this.#claimedElsewhere(feed, [cid])
    },
  }

  #claimedElsewhere(feed: Feed, cids: string[]): void {
    for (const cid of cids) {
      this.#presence.drop(feed.keys.ch, cid)
      for (const listener of feed.listeners) listener.claimed?.(cid)
    }
  }

  /**
   * Every `heartbeatMs`, for each channel with a local subscriber or member: removes expired members,
   * renews this process's members and the history's TTL, and checks the feed against the channel's
   * position (a message pub/sub dropped, a history Redis lost). Renews the resume records too.
   */
  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) return
    this.#beating = true
    try {
      const ticks = [...this.#feeds.values()].map(async (feed) => {
        const { position, claimed } = await this.#presence.tick(feed.keys, this.#historyTtlMs, randomId(12))
        if (this.#feeds.get(feed.keys.ch) !== feed) return
        if (claimed.length > 0) this.#claimedElsewhere(feed, claimed)
        feed.check(position)
      })
      const results = await Promise.allSettled([...ticks, this.#presence.renewSessions()])
      const failure = results.find((result) => result.status === 'rejected')
      if (failure) this.#report(failure.reason)
      else this.#healthy = true
    } finally {
      this.#beating = false
    }
  }

  /** Reports a failure once per outage. */
  #report(error: unknown): void {
    if (!this.#healthy || this.#closed) return
    this.#healthy = false
    this.#onError(error)
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise)
    const done = () => this.#inFlight.delete(promise)
    promise.then(done, done)
    return promise
  }

  #keysOf(ch: string): ChannelKeys {
    let keys = this.#keys.get(ch)
    if (!keys) {
      keys = channelKeys(this.#prefix, ch)
      if (this.#keys.size >= 10_000) this.#keys.clear()
      this.#keys.set(ch, keys)
    }
    return keys
  }
}

/**
 * Creates a broker that keeps channel state in Redis, so several Node server processes share
 * channels, history, presence and resume. Pass it as the `broker` option of `createNodeServer` in
 * every process. Needs Redis 7 or later for sharded pub/sub (6.2 works with classic pub/sub).
 *
 * @param options - `url` (a `redis://` URL), `cluster` (node-redis `createCluster` options) or
 *   `client` (your node-redis client: the broker duplicates it for pub/sub and leaves it open on
 *   `close()`), plus settings.
 * @throws {InvalidOptionsError} for an invalid setting.
 * @example
 * ```ts
 * import { createNodeServer } from '@tanstack/realtime-preset-node'
 * import { createRedisBroker } from '@tanstack/realtime-redis'
 *
 * const realtime = createNodeServer({
 *   getAuthToken: (req) => getUserIdFromRequest(req),
 *   broker: createRedisBroker({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
 * })
 * ```
 */
export function createRedisBroker(options: CreateRedisBrokerOptions): RedisBroker {
  return new RedisBroker(options)
}
