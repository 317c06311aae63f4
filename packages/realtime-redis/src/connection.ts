/**
 * The store's link to Redis over node-redis: one command connection (or a Cluster client) and one
 * subscriber connection, scripts by EVALSHA, and a bound on every command. node-redis applies a
 * command's timeout only until the command is written, so a paused server (SIGSTOP) would leave it
 * waiting forever: here every command is raced against a timer and fails with
 * {@link RedisUnavailableError} (retryable) when Redis does not answer in time.
 *
 * @module
 */
import {
  createClient,
  createCluster,
  ErrorReply,
  type RedisClientType,
  type RedisClusterOptions,
  type RedisClusterType,
} from '@redis/client'
import { RedisUnavailableError } from './errors.js'
import type { Script } from './scripts.js'

/** A node-redis client: `createClient()` from `redis` or `@redis/client` (v5 or later). */
export type RedisClient = RedisClientType<any, any, any, any, any>
/** A node-redis Cluster client: `createCluster()` from `redis` or `@redis/client` (v5 or later). */
export type RedisClusterClient = RedisClusterType<any, any, any, any, any>
export type { RedisClusterOptions }

/** How the store reaches Redis: a URL, node-redis Cluster options, or a client of yours. */
export type RedisSource =
  | { url: string }
  | { cluster: RedisClusterOptions }
  | { client: RedisClient | RedisClusterClient }

type Listener = (message: string) => void

/** Server errors that mean "not now" rather than "wrong": they are retryable. */
const TRANSIENT = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/

function isServerError(error: unknown): error is Error {
  if (error instanceof ErrorReply) return true
  // A client from another copy of @redis/client: its ErrorReply classes have these names.
  const name = (error as Error | undefined)?.constructor?.name
  return name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError'
}

/** One connection (or Cluster client) for commands and scripts, one for pub/sub. */
export class RedisConnection {
  readonly #client: RedisClient | RedisClusterClient
  readonly #cluster: boolean
  readonly #owned: boolean
  readonly #timeoutMs: number
  /** The subscriber: a duplicate of a standalone client, or the Cluster client itself (it keeps one per shard). */
  #subscriber: RedisClient | RedisClusterClient | undefined
  #started: Promise<void> | undefined
  /** Connected once: commands go straight to node-redis (which reconnects by itself). */
  #connected = false
  #closed = false
  /** SPUBLISH/SSUBSCRIBE on Redis 7+, else PUBLISH/SUBSCRIBE. */
  #sharded = true
  /** Commands sent and not answered yet: `close()` lets them finish (leaves sent while a server shuts down). */
  readonly #inFlight = new Set<Promise<unknown>>()

  /**
   * @param source - where Redis is
   * @param timeoutMs - the bound on every command
   * @param onError - connection errors (node-redis reconnects by itself)
   * @param onReconnect - the subscriber connection is (again) ready: pub/sub messages may have been lost
   */
  constructor(
    source: RedisSource,
    timeoutMs: number,
    readonly onError: (error: unknown) => void,
    readonly onReconnect: () => void,
  ) {
    this.#timeoutMs = timeoutMs
    if ('client' in source) {
      this.#client = source.client
      this.#owned = false
    } else {
      // Without an offline queue, commands fail at once while the connection is down.
      this.#client =
        'url' in source
          ? (createClient({ url: source.url, disableOfflineQueue: true }) as unknown as RedisClient)
          : (createCluster({
              ...source.cluster,
              defaults: { disableOfflineQueue: true, ...source.cluster.defaults },
            }) as unknown as RedisClusterClient)
      this.#owned = true
    }
    this.#cluster = 'masters' in this.#client
  }

  /** Whether Redis runs in Cluster mode. */
  get cluster(): boolean {
    return this.#cluster
  }

  /** Whether the pub/sub subscriptions live on a client of yours that stays open (a Cluster client you passed). */
  get sharedSubscriber(): boolean {
    return this.#cluster && !this.#owned
  }

  /** The publish command the scripts use: `spublish` (sharded pub/sub) on Redis 7+, else `publish`. */
  get publishCommand(): string {
    return this.#sharded ? 'spublish' : 'publish'
  }

  /** Connects (once): resolves when commands can be sent, or rejects after the timeout (the next call tries again). */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new RedisUnavailableError('The Redis store is closed.'))
    this.#started ??= this.#connect().catch((error) => {
      this.#started = undefined
      throw error
    })
    return this.#bounded(this.#started, 'connect to Redis')
  }

  async #connect(): Promise<void> {
    const client = this.#client as RedisClient
    if (!this.#subscriber) client.on('error', this.onError)
    if (!client.isOpen) await client.connect()
    const info = String(
      await this.#bounded(
        this.#cluster
          ? (this.#client as RedisClusterClient).sendCommand(undefined, true, ['INFO', 'server'])
          : (this.#client as RedisClient).sendCommand(['INFO', 'server']),
        'INFO',
      ),
    )
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 7)
    this.#sharded = major >= 7
    if (this.#cluster) {
      this.#subscriber = this.#client
      this.#client.on('node-ready', this.onReconnect)
      this.#connected = true
      return
    }
    if (!this.#subscriber) {
      const subscriber = (this.#client as RedisClient).duplicate()
      subscriber.on('error', this.onError)
      subscriber.on('ready', this.onReconnect)
      this.#subscriber = subscriber
    }
    if (!this.#subscriber.isOpen) await this.#subscriber.connect()
    this.#connected = true
  }

  /** Runs a script (EVALSHA, loading it with EVAL when Redis does not know it). */
  async eval(script: Script, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<any> {
    const tail = [String(keys.length), ...keys, ...args.map(String)]
    try {
      return await this.#send(keys[0], ['EVALSHA', script.sha, ...tail])
    } catch (error) {
      if (!(isServerError(error) && error.message.startsWith('NOSCRIPT'))) throw error
      return this.#send(keys[0], ['EVAL', script.source, ...tail])
    }
  }

  /** Sends one command about `key` (which routes it in a Cluster). */
  command(key: string, args: string[]): Promise<any> {
    return this.#send(key, args)
  }

  #send(key: string | undefined, args: string[]): Promise<unknown> {
    if (!this.#connected) return this.start().then(() => this.#send(key, args))
    // A client of yours may queue commands while offline: the signal takes a late one out of the queue.
    const options = this.#owned ? undefined : { abortSignal: AbortSignal.timeout(this.#timeoutMs) }
    const sent = this.#cluster
      ? (this.#client as RedisClusterClient).sendCommand(key, false, args, options)
      : (this.#client as RedisClient).sendCommand(args, options)
    const bounded = this.#bounded(sent, args[0] === 'EVALSHA' || args[0] === 'EVAL' ? 'run a script' : String(args[0]))
    this.#inFlight.add(bounded)
    const done = () => this.#inFlight.delete(bounded)
    bounded.then(done, done)
    return bounded
  }

  /** Subscribes `listener` to a (sharded) pub/sub channel; resolves once Redis confirmed it. */
  async subscribe(channel: string, listener: Listener): Promise<void> {
    if (!this.#connected) await this.start()
    const subscriber = this.#subscriber as RedisClient
    const done = this.#sharded ? subscriber.sSubscribe(channel, listener) : subscriber.subscribe(channel, listener)
    await this.#bounded(done, 'subscribe')
  }

  /** Removes `listener` from a pub/sub channel (Redis unsubscribes when it was the last). */
  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    const subscriber = this.#subscriber as RedisClient | undefined
    if (!subscriber || this.#closed) return
    const done = this.#sharded ? subscriber.sUnsubscribe(channel, listener) : subscriber.unsubscribe(channel, listener)
    await this.#bounded(done, 'unsubscribe')
  }

  /** Closes the connections the store opened (a client of yours stays open; its subscriber is closed). */
  async close(): Promise<void> {
    if (this.#closed) return
    await Promise.allSettled(this.#inFlight)
    this.#closed = true
    const subscriber = this.#subscriber
    const quit = async (client: RedisClient | RedisClusterClient) => {
      try {
        if (client.isOpen) await this.#bounded(client.close(), 'close')
      } catch {
        client.destroy()
      }
    }
    this.#client.off('error', this.onError)
    if (subscriber && subscriber !== this.#client) await quit(subscriber)
    else if (subscriber) this.#client.off('node-ready', this.onReconnect)
    if (this.#owned) await quit(this.#client)
  }

  /** `promise`, or a {@link RedisUnavailableError} when it takes longer than the timeout or fails to reach Redis. */
  #bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RedisUnavailableError(
            `Redis did not answer within ${this.#timeoutMs} ms (${what}): it is unreachable, restarting or ` +
              'overloaded. The request may or may not have been applied; retry.',
          ),
        )
      }, this.#timeoutMs)
      promise.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (error) => {
          clearTimeout(timer)
          if (isServerError(error) && !TRANSIENT.test(error.message)) reject(error)
          else
            reject(
              new RedisUnavailableError(`Redis is unavailable (${what}): ${(error as Error).message}`, {
                cause: error,
              }),
            )
        },
      )
    })
  }
}
