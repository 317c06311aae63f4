import { InvalidOptionsError, TimeoutError } from '@tanstack/realtime'
import { type ChannelStore, DEFAULTS, type StoredSession } from '@tanstack/realtime/server'
import { RedisChannel } from './channel.js'
import { RedisConnection, type RedisSource } from './connection.js'
import { Feed, type FeedHost } from './feed.js'
import { type ChannelKeys, channelKeys } from './keys.js'
import { RedisLog } from './log.js'
import { RedisPresence } from './presence.js'
import { RELEASE, RENEW } from './scripts.js'
import { randomToken } from './token.js'

/** Settings of {@link createRedisStore}, besides where Redis is. */
export interface RedisStoreOptions {
  /** Prefix of every key and pub/sub channel (no braces). Default `'rt:'`. */
  keyPrefix?: string
  /** Messages kept per channel for resume and rewind. Default 200. */
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

/** Options of {@link createRedisStore}: where Redis is (a URL, Cluster options or a client of yours) and settings. */
export type CreateRedisStoreOptions = RedisSource & RedisStoreOptions

/** An integer setting at least `min`. */
function setting(value: number, name: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidOptionsError(`Option "${name}" must be an integer >= ${min}; got ${String(value)}.`)
  }
  return value
}

/**
 * Channel state in Redis, shared by every server process using the same Redis: sequence numbers and
 * history (one script per publish), fan-out over (sharded) pub/sub to the processes with local
 * subscribers, presence with per-process liveness, resume from any process, and collection writes
 * in one order. Create it with {@link createRedisStore} and pass it as the server's `store`.
 */
export class RedisChannelStore implements ChannelStore {
  /** This process's id, recorded as the owner of its presence members. */
  readonly processId = randomToken(12)
  readonly log: RedisLog
  readonly presence: RedisPresence
  readonly #redis: RedisConnection
  readonly #channels = new Map<string, RedisChannel>()
  readonly #prefix: string
  readonly #writeLockMs: number
  readonly #onError: (error: unknown) => void
  readonly #heartbeat: ReturnType<typeof setInterval>
  readonly #feedHost: FeedHost
  #beating = false
  /** Whether the last heartbeat reached Redis (errors are reported once per outage). */
  #healthy = true
  #closed = false

  /** @throws {InvalidOptionsError} for an invalid setting. */
  constructor(options: CreateRedisStoreOptions) {
    const prefix = options.keyPrefix ?? 'rt:'
    if (/[{}]/.test(prefix)) throw new InvalidOptionsError(`keyPrefix may not contain braces; got "${prefix}".`)
    this.#prefix = prefix
    const historySize = setting(options.historySize ?? DEFAULTS.historySize, 'historySize', 0)
    const historyTtlMs = setting(options.historyTtlMs ?? DEFAULTS.historyTtlMs, 'historyTtlMs')
    const presenceTtlMs = setting(options.presenceTtlMs ?? 10_000, 'presenceTtlMs', 2)
    const heartbeatMs = setting(options.heartbeatMs ?? Math.min(3000, Math.floor(presenceTtlMs / 2)), 'heartbeatMs')
    if (heartbeatMs > presenceTtlMs / 2) {
      throw new InvalidOptionsError(
        `heartbeatMs (${heartbeatMs}) must be at most presenceTtlMs / 2 (${presenceTtlMs / 2}).`,
      )
    }
    const commandTimeoutMs = setting(options.commandTimeoutMs ?? 2000, 'commandTimeoutMs')
    this.#writeLockMs = setting(options.writeLockMs ?? 10_000, 'writeLockMs')
    this.#onError = options.onError ?? ((error) => console.error('[tanstack-realtime-redis]', error))
    this.#redis = new RedisConnection(
      options,
      commandTimeoutMs,
      (error) => this.#report(error),
      () => {
        for (const channel of this.#channels.values()) channel.feed?.resync()
      },
    )
    this.log = new RedisLog(this.#redis, { historySize, historyTtlMs })
    this.presence = new RedisPresence(this.#redis, {
      keyPrefix: prefix,
      presenceTtlMs,
      historyTtlMs,
      processId: this.processId,
    })
    this.#feedHost = {
      processId: this.processId,
      catchUpMs: commandTimeoutMs,
      subscribe: (feed) => this.#redis.subscribe(feed.keys.pubsub, feed.receive),
      read: (keys, after) => this.log.read(keys, after),
    }
    // Connect now; a failure shows on the first request (each one bounded by the command timeout).
    this.#redis.start().catch(() => {})
    this.#heartbeat = setInterval(() => {
      this.#beat().catch((error) => this.#report(error))
    }, heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Whether the store talks to a Redis Cluster. */
  get cluster(): boolean {
    return this.#redis.cluster
  }

  /** Channels this process holds a pub/sub subscription for (with a local subscriber or member). */
  get feeds(): number {
    let count = 0
    for (const channel of this.#channels.values()) if (channel.feed) count++
    return count
  }

  // ChannelStore

  open(ch: string): RedisChannel {
    let channel = this.#channels.get(ch)
    if (!channel) {
      channel = new RedisChannel(this, channelKeys(this.#prefix, ch))
      this.#channels.set(ch, channel)
    }
    return channel
  }

  find(ch: string): RedisChannel | undefined {
    return this.#channels.get(ch)
  }

  activeCount(): number {
    let count = 0
    for (const channel of this.#channels.values()) if (channel.busy) count++
    return count
  }

  /** Subscriptions of this process to channel `ch` that are live (their ack sent: every later message reaches them). */
  subscriberCount(ch: string): number {
    return this.#channels.get(ch)?.liveSubscribers ?? 0
  }

  async resume(token: string, uid: string): Promise<StoredSession | undefined> {
    const found = await this.presence.lookup(token, uid)
    // The core finds the channels to take over among the open ones.
    for (const ch of found?.channels ?? []) this.open(ch)
    return found
  }

  /** Lets the heartbeat stop, closes the feeds, then the connections the store opened (a client of yours stays open). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#heartbeat)
    const feeds = [...this.#channels.values()].flatMap((channel) => (channel.feed ? [channel.feed] : []))
    for (const feed of feeds) feed.close()
    this.#channels.clear()
    // A Cluster client of yours stays open: without the store's listeners.
    if (this.#redis.sharedSubscriber) {
      await Promise.allSettled(feeds.map((feed) => this.#redis.unsubscribe(feed.keys.pubsub, feed.receive)))
    }
    await this.#redis.close()
  }

  /** @internal A channel's local use changed: a busy channel has a feed, an idle one none. */
  touched(channel: RedisChannel): void {
    if (this.#closed) return
    if (channel.busy && !channel.feed) {
      channel.feed = new Feed(channel.keys, this.#feedHost, channel)
      channel.feed.ready().catch(() => {}) // a read waits for it and reports the failure
    } else if (!channel.busy && channel.feed) {
      const feed = channel.feed
      channel.feed = undefined
      feed.close()
      feed.subscribed.then(() => this.#redis.unsubscribe(feed.keys.pubsub, feed.receive)).catch(() => {})
    }
  }

  /** @internal Runs `task` while no other process runs one for the channel (a lock in Redis, renewed meanwhile). */
  async exclusive<T>(keys: ChannelKeys, task: () => Promise<T>): Promise<T> {
    const { lock } = keys
    const token = randomToken(16)
    const ttl = String(this.#writeLockMs)
    const deadline = Date.now() + this.#writeLockMs
    for (let attempt = 0; ; attempt++) {
      if ((await this.#redis.command(lock, ['SET', lock, token, 'NX', 'PX', ttl])) === 'OK') break
      if (Date.now() >= deadline || attempt >= 10_000) {
        throw new TimeoutError(`Another server held the write lock of ${keys.ch} for ${ttl} ms: retry the write.`)
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

  /**
   * Every `heartbeatMs`, for each channel with a local subscriber or member: removes expired members,
   * renews this process's members and the history's TTL, and checks the feed against the channel's
   * position (a message pub/sub dropped, a history Redis lost). Renews the resume records, and
   * forgets channels this process no longer uses.
   */
  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) return
    this.#beating = true
    try {
      const ticks: Array<Promise<unknown>> = []
      for (const channel of [...this.#channels.values()]) {
        if (!channel.busy) {
          if (!channel.feed) this.#channels.delete(channel.ch)
          continue
        }
        ticks.push(
          (async () => {
            const { position, gone, other } = await this.presence.tick(channel.keys, channel.members.renewed())
            if (gone.length > 0 || other.length > 0) await channel.members.recover(gone, other)
            channel.feed?.check(position)
          })(),
        )
      }
      const results = await Promise.allSettled([...ticks, this.presence.renewSessions()])
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
}

/**
 * Creates a channel store in Redis, so several Node server processes share channels, history,
 * presence and resume. Pass it as the `store` option of `createNodeServer` in every process.
 * Needs Redis 7 or later for sharded pub/sub (an older Redis gets classic pub/sub, untested).
 *
 * @param options - `url` (a `redis://` URL), `cluster` (node-redis `createCluster` options) or
 *   `client` (your node-redis client: the store duplicates it for pub/sub and leaves it open on
 *   `close()`), plus settings.
 * @throws {InvalidOptionsError} for an invalid setting.
 * @example
 * ```ts
 * import { createNodeServer } from '@tanstack/realtime-preset-node'
 * import { createRedisStore } from '@tanstack/realtime-redis'
 *
 * const realtime = createNodeServer({
 *   getAuthToken: (req) => getUserIdFromRequest(req),
 *   store: createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
 * })
 * ```
 */
export function createRedisStore(options: CreateRedisStoreOptions): RedisChannelStore {
  return new RedisChannelStore(options)
}
