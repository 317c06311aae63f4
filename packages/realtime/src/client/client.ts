import { type ChannelKey, type MessageOf, type PublishOf, schemasOf, serializeChannelKey } from '../channel.js'
import { deferred } from '../deferred.js'
import {
  InvalidError,
  InvalidOptionsError,
  OfflineError,
  type RealtimeError,
  TooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../errors.js'
import { intOption } from '../options.js'
import { MAX_REWIND, type ServerFrame, type ServerLimits, utf8Length, type WriteOp } from '../protocol.js'
import { isPageVisible, onWindowEvent, randomId } from '../runtime.js'
import { describeIssues, validateWith } from '../schema.js'
import { type Observable, Store } from '../store.js'
import type { Backoff, ReconnectOptions } from './backoff.js'
import { ChannelSubscription, type SubscriptionState } from './channel-subscription.js'
import { DISCONNECTED, Link, type LinkHost } from './link.js'
import type { Ack, RequestFrame } from './requests.js'
import type { RealtimeTransport } from './transport.js'

/**
 * The connection's state: `connecting` (first attempt), `connected`, `reconnecting` (after a drop
 * or a failed attempt, with backoff), `refused` (the server refused the connection: `client.error`
 * says why; the client tries again on `connect()` or the next request) or `disconnected` (not
 * started, `disconnect()` was called, or the server does not speak this client's protocol).
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'disconnected'

/** Options of {@link createRealtimeClient}. */
export interface RealtimeClientOptions {
  /** How to reach the server: `nodeTransport()` or `workerdTransport()`. */
  transport: RealtimeTransport
  /** Backoff between reconnect attempts, also used for every other retry (resubscribes, presence joins, snapshots). */
  reconnect?: ReconnectOptions
  /** How long a request (publish, subscribe, presence) waits for the server. Default 10 000 ms. */
  requestTimeoutMs?: number
  /** Minimum time between two presence updates sent. Default 50 ms. */
  presenceThrottleMs?: number
  /**
   * The client's liveness probe: a silent connection is pinged after this long and dropped after
   * twice this. Default 15 000 ms. (The Node server's `heartbeatMs` is its own WebSocket ping.)
   */
  heartbeatMs?: number
}

/** Delivered with every message. */
export interface MessageMeta {
  /** The message's sequence number in its channel. */
  seq: number
  /** The serialized channel key. */
  channel: string
}

/** Options of one subscriber. */
export interface SubscribeOptions {
  /**
   * Deliver up to this many of the channel's most recent messages first (1 to 1000), in order,
   * then the live ones: each message once. The server sends them from its history to the first
   * subscriber of the channel in this client; a subscriber that joins a channel this client already
   * follows gets them from what the client kept (the messages delivered since, up to the largest
   * `rewind` asked). Resubscribes after a reconnect resume where the client was instead.
   */
  rewind?: number
  /**
   * The server is live for this channel: every later message will be delivered. Called after the
   * first subscribe and after every resubscribe; `recovered` says whether missed messages were replayed.
   */
  onLive?: (info: { recovered: boolean }) => void
  /**
   * The server no longer had the messages missed while disconnected: state derived from the
   * channel should be reloaded (live collections take a fresh snapshot).
   */
  onReset?: () => void
  /** The subscription failed (for example {@link ForbiddenError}), or its retry did. */
  onError?: (error: RealtimeError) => void
}

/** What `subscribe()` returns: call it to unsubscribe; `ready` settles when the server is live. */
export interface Subscription {
  (): void
  /** Resolves when the server is live for the channel; rejects with the subscribe error. */
  readonly ready: Promise<void>
  /**
   * The channel's subscription state in this client, `{ status, error }`, as an observable
   * (`subscribe(listener)`, `getSnapshot()`) that framework adapters bind to. `idle` once the last
   * subscriber of the channel unsubscribed.
   */
  readonly state: Observable<SubscriptionState>
}

/** The realtime client: one per app, shared by every component. */
export interface RealtimeClient {
  /** Observable connection status. */
  readonly status: Observable<ConnectionStatus>
  /**
   * Why the status is `refused` ({@link UnauthorizedError}, {@link ForbiddenError}) or, after a
   * protocol mismatch, `disconnected` ({@link InvalidError}); undefined otherwise.
   */
  readonly error: RealtimeError | undefined
  /** This connection's id (presence members are keyed by it), once connected. */
  readonly connectionId: string | undefined
  /** The user id the server derived from this connection's identity, once connected. */
  readonly userId: string | undefined
  /** Connects (the client also connects by itself on first use); after a refusal, tries again. */
  connect(): void
  /** Disconnects and stays disconnected until `connect()`. Subscriptions are kept and resume then. */
  disconnect(): void
  /**
   * Subscribes to a channel. Subscribers of one channel in one client share one server
   * subscription; the last unsubscribe ends it.
   *
   * @throws {InvalidChannelKeyError} when the key is invalid; {@link InvalidOptionsError} for a bad `rewind`.
   * @example
   * ```ts
   * const unsubscribe = client.subscribe(['chat', { roomId }], (msg) => console.log(msg), { rewind: 20 })
   * await unsubscribe.ready // the server is live for the channel
   * ```
   */
  subscribe<K extends ChannelKey<any, any>>(
    channel: K,
    onMessage: (data: MessageOf<K>, meta: MessageMeta) => void,
    options?: SubscribeOptions,
  ): Subscription
  /**
   * Publishes to a channel; resolves with the message's sequence number once the server accepted it
   * (0 when the server's `onPublish` dropped it). Each publish carries an idempotency key: if the
   * connection drops before the answer, it is sent again after the reconnect (within the timeout)
   * and the server applies it once. A key made by a definition with schemas has `data` checked
   * against its `publish` (or `message`) schema first: it is not sent when it does not match.
   *
   * @throws {ForbiddenError} {@link TooLargeError} {@link RateLimitedError} {@link TimeoutError}
   *   {@link OfflineError} {@link ConnectionLostError} {@link InvalidError} {@link ValidationError}
   *   (as rejections).
   */
  publish<K extends ChannelKey<any, any>>(
    channel: K,
    data: PublishOf<K>,
    options?: { timeoutMs?: number },
  ): Promise<{ seq: number }>
}

/**
 * @internal Something in the client that lives on a channel's link: a channel subscription or a
 * presence membership. The client tells it what happens to the link and hands it the channel's frames.
 */
export interface ChannelUser {
  readonly ch: string
  /** The link is open (hello received): (re)send what this user needs. */
  opened(): void
  /** The link lost its socket. */
  lost(): void
  /** The server refused the connection or the channel; `retrying` when the link tries again by itself. */
  refused(error: RealtimeError, retrying: boolean): void
  /** A push frame (`msg`, `pres`) for this channel. */
  frame(frame: ServerFrame): void
}

/** @internal A one-off request: a publish, or the collection protocol's snapshot and write. */
export type OneOffFrame = { t: 'pub'; data: unknown } | { t: 'snap' } | { t: 'write'; ops: WriteOp[] }

/** @internal What channel subscriptions, presence channels and live collections use of their client. */
export interface ClientCore {
  /** The client's retry policy. */
  readonly backoff: Backoff
  readonly presenceThrottleMs: number
  /** The server's limits from the last hello. */
  readonly limits: ServerLimits | undefined
  /** The channel's link (made on first use). */
  linkFor(ch: string): Link
  /** The channel's link, connecting: starts a lazy client, asks a refused link again. */
  wake(ch: string): Link
  /** Routes the channel's link events and frames to `user`. */
  attach(user: ChannelUser): void
  /**
   * Stops routing to `user`, after sending `goodbye` (an `unsub` or `pleave`) when the link is open; a per-channel
   * link nothing uses any more is closed once that is answered.
   */
  detach(user: ChannelUser, goodbye?: RequestFrame): void
  /** Sends a one-off request on the channel's link, connecting lazily; resolves with its ack. */
  call(channel: ChannelKey<any, any>, frame: OneOffFrame, timeoutMs?: number): Promise<Ack>
}

/** The one link's key on a shared transport. */
const SHARED = ''

class Client implements RealtimeClient, LinkHost, ClientCore {
  readonly #status = new Store<ConnectionStatus>('disconnected')
  readonly status: Observable<ConnectionStatus> = this.#status
  readonly backoff: Backoff
  readonly presenceThrottleMs: number
  limits: ServerLimits | undefined
  readonly #shared: boolean
  readonly #links = new Map<string, Link>()
  readonly #channels = new Map<string, ChannelSubscription>()
  readonly #users = new Map<string, Set<ChannelUser>>()
  readonly #linkOptions: Omit<ConstructorParameters<typeof Link>[0], 'channel'>
  /** `lazy`: connect on first use; `wanted`: connect() or first use; `stopped`: disconnect(). */
  #wanted: 'lazy' | 'wanted' | 'stopped' = 'lazy'
  #stopWindowEvents: (() => void) | undefined

  constructor(options: RealtimeClientOptions) {
    const transport = options?.transport
    if (typeof transport?.open !== 'function') {
      throw new InvalidOptionsError('createRealtimeClient needs a transport.')
    }
    this.#shared = transport.mode === 'shared'
    this.presenceThrottleMs = intOption(options.presenceThrottleMs ?? 50, 'presenceThrottleMs', 0)
    const { initialDelayMs = 250, maxDelayMs = 10_000, factor = 2 } = options.reconnect ?? {}
    if (!(factor >= 1)) throw new InvalidOptionsError('Option "reconnect.factor" must be a number >= 1.')
    this.backoff = {
      initialDelayMs: intOption(initialDelayMs, 'reconnect.initialDelayMs'),
      maxDelayMs: intOption(maxDelayMs, 'reconnect.maxDelayMs'),
      factor,
    }
    this.#linkOptions = {
      transport,
      host: this,
      requestTimeoutMs: intOption(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs'),
      heartbeatMs: intOption(options.heartbeatMs ?? 15_000, 'heartbeatMs'),
      reconnect: this.backoff,
    }
  }

  get error(): RealtimeError | undefined {
    for (const link of this.#links.values()) {
      if (link.error && (this.#refusesClient(link) || link.state === 'closed')) return link.error
    }
    return undefined
  }

  get connectionId(): string | undefined {
    for (const link of this.#links.values()) if (link.connectionId) return link.connectionId
    return undefined
  }

  get userId(): string | undefined {
    for (const link of this.#links.values()) if (link.userId) return link.userId
    return undefined
  }

  // Arrow functions: `connect` and `disconnect` can be passed around unbound (onClick={client.connect}).
  connect = (): void => {
    this.#wanted = 'wanted'
    this.#stopWindowEvents ??= this.#watchWindow()
    if (this.#shared) this.linkFor(SHARED).connect()
    else for (const link of this.#links.values()) link.connect()
    this.stateChanged()
  }

  disconnect = (): void => {
    this.#wanted = 'stopped'
    this.#stopWindowEvents?.()
    this.#stopWindowEvents = undefined
    for (const link of this.#links.values()) link.close()
    this.stateChanged()
  }

  subscribe<K extends ChannelKey<any, any>>(
    channel: K,
    onMessage: (data: MessageOf<K>, meta: MessageMeta) => void,
    options: SubscribeOptions = {},
  ): Subscription {
    const ch = serializeChannelKey(channel)
    const rewind = options.rewind === undefined ? 0 : intOption(options.rewind, 'rewind', 0, MAX_REWIND)
    const subscription = this.#channels.get(ch) ?? new ChannelSubscription(ch, this)
    this.#channels.set(ch, subscription)
    const listener = { onMessage, options, rewind, ready: deferred() }
    subscription.add(listener)
    return Object.assign(() => subscription.remove(listener), { ready: listener.ready.promise, state: subscription })
  }

  async publish<K extends ChannelKey<any, any>>(
    channel: K,
    data: PublishOf<K>,
    options: { timeoutMs?: number } = {},
  ): Promise<{ seq: number }> {
    const schemas = schemasOf(channel)
    const schema = schemas && (schemas.publish ?? schemas.message)
    if (schema) {
      // Checked here so a wrong payload fails at once; sent as given (the server runs the schema itself).
      const { issues } = await validateWith(schema, data)
      if (issues) throw new ValidationError(describeIssues('message', issues), issues)
    }
    const ack = await this.call(channel, { t: 'pub', data }, options.timeoutMs)
    return { seq: ack.seq ?? 0 }
  }

  // ClientCore

  async call(channel: ChannelKey<any, any>, frame: OneOffFrame, timeoutMs?: number): Promise<Ack> {
    const ch = serializeChannelKey(channel)
    if (this.#wanted === 'stopped') throw new OfflineError(DISCONNECTED)
    // A publish or write carries an idempotency key: sent again after a drop, it is applied once.
    const request = frame.t === 'snap' ? { ...frame, ch } : { ...frame, ch, idem: this.#check(frame) }
    try {
      return await this.wake(ch).request(request, timeoutMs)
    } finally {
      this.#releaseLink(ch)
    }
  }

  /**
   * Checks that the payload is JSON and, once the server's limits are known, that it fits
   * `maxMessageBytes`; returns a fresh idempotency key for the request that carries it.
   *
   * @throws {InvalidError} {@link TooLargeError}
   */
  #check(frame: Exclude<OneOffFrame, { t: 'snap' }>): string {
    let json: string | undefined
    try {
      json = JSON.stringify(frame.t === 'pub' ? frame.data : frame.ops)
    } catch {}
    if (json === undefined) throw new InvalidError('Data must be JSON-serializable (no cycles, BigInt or undefined).')
    const max = this.limits?.maxMessageBytes
    const bytes = max === undefined || json.length * 3 <= max ? 0 : utf8Length(json)
    if (max !== undefined && bytes > max) {
      throw new TooLargeError(`The data is ${bytes} bytes; the server accepts at most ${max}.`)
    }
    return randomId()
  }

  linkFor(ch: string): Link {
    const key = this.#shared ? SHARED : ch
    let link = this.#links.get(key)
    if (!link) {
      link = new Link({ ...this.#linkOptions, channel: this.#shared ? undefined : ch })
      this.#links.set(key, link)
      if (this.#wanted === 'wanted' && !this.#shared) link.connect()
    }
    return link
  }

  wake(ch: string): Link {
    if (this.#wanted === 'lazy') this.connect()
    const link = this.linkFor(ch)
    if (this.#wanted === 'wanted' && (link.state === 'idle' || link.state === 'refused')) link.connect()
    return link
  }

  attach(user: ChannelUser): void {
    const users = this.#users.get(user.ch) ?? new Set()
    this.#users.set(user.ch, users.add(user))
  }

  detach(user: ChannelUser, goodbye?: RequestFrame): void {
    const link = this.#links.get(this.#shared ? SHARED : user.ch)
    // Sent even after a request that timed out: the server may hold the state anyway.
    if (goodbye && link?.state === 'open') {
      link
        .request(goodbye)
        .catch(() => {})
        .finally(() => this.#releaseLink(user.ch))
    }
    const users = this.#users.get(user.ch)
    if (users?.delete(user) && users.size === 0) this.#users.delete(user.ch)
    if (this.#channels.get(user.ch) === user) this.#channels.delete(user.ch)
    this.#releaseLink(user.ch)
  }

  // LinkHost

  opened(link: Link): void {
    this.limits = link.limits
    this.#forUsers(link, (user) => user.opened())
  }

  lost(link: Link): void {
    this.#forUsers(link, (user) => user.lost())
  }

  refused(link: Link, error: RealtimeError, retrying: boolean): void {
    this.#forUsers(link, (user) => user.refused(error, retrying))
  }

  frame(_link: Link, frame: ServerFrame): void {
    const users = 'ch' in frame ? this.#users.get(frame.ch) : undefined
    if (users) for (const user of [...users]) user.frame(frame)
  }

  stateChanged(): void {
    this.#status.set(this.#computeStatus())
  }

  #forUsers(link: Link, action: (user: ChannelUser) => void) {
    for (const [ch, users] of [...this.#users]) {
      if (this.#links.get(this.#shared ? SHARED : ch) === link) for (const user of [...users]) action(user)
    }
  }

  /**
   * Whether the server refused the whole client: the shared connection, an identity (4401), or
   * every per-channel connection (an Origin it does not allow refuses them all; one denied
   * channel among working ones does not make the client refused).
   */
  #refusesClient(link: Link): boolean {
    if (link.state !== 'refused') return false
    if (this.#shared || link.error instanceof UnauthorizedError) return true
    for (const other of this.#links.values()) if (other.state !== 'refused') return false
    return true
  }

  #computeStatus(): ConnectionStatus {
    if (this.#wanted !== 'wanted') return 'disconnected'
    let status: ConnectionStatus = 'connected'
    for (const link of this.#links.values()) {
      if (link.state === 'backoff' || (link.state === 'connecting' && link.everOpen)) return 'reconnecting'
      if (link.state === 'closed') return 'disconnected'
      if (link.state === 'connecting') status = 'connecting'
      else if (status === 'connected' && this.#refusesClient(link)) status = 'refused'
    }
    return status
  }

  /** Per-channel transports close a channel's socket once nothing in this client uses it. */
  #releaseLink(ch: string) {
    const link = this.#links.get(ch)
    if (this.#shared || !link || link.pending > 0 || this.#users.has(ch)) return
    this.#links.delete(ch)
    link.close()
    this.stateChanged()
  }

  #watchWindow(): () => void {
    const retry = () => {
      if (isPageVisible()) for (const link of this.#links.values()) link.retryNow()
    }
    const stopOnline = onWindowEvent('online', retry)
    const stopVisible = onWindowEvent('visibilitychange', retry)
    return () => {
      stopOnline()
      stopVisible()
    }
  }
}

/**
 * Creates the realtime client. It connects lazily (on the first subscribe, publish or presence
 * enter) or when `connect()` is called, and reconnects with backoff until `disconnect()`.
 *
 * @throws {InvalidOptionsError} when the transport is missing or an option is invalid.
 * @example
 * ```ts
 * import { createRealtimeClient } from '@tanstack/realtime'
 * import { nodeTransport } from '@tanstack/realtime-preset-node'
 *
 * export const client = createRealtimeClient({ transport: nodeTransport({ url: 'ws://localhost:3000' }) })
 * ```
 */
export function createRealtimeClient(options: RealtimeClientOptions): RealtimeClient {
  return new Client(options)
}
