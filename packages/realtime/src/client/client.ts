import { type ChannelKey, type MessageOf, type PresenceStateOf, serializeChannelKey } from '../channel.js'
import { type Deferred, deferred } from '../deferred.js'
import { InvalidError, OfflineError, type RealtimeError, TooLargeError } from '../errors.js'
import { intOption } from '../options.js'
import {
  MAX_WRITE_OPS,
  type ServerFrame,
  type ServerLimits,
  type StreamPosition,
  utf8Length,
  type WriteOp,
} from '../protocol.js'
import { clearTimer, isPageVisible, logError, onWindowEvent, setTimer, type TimerHandle } from '../runtime.js'
import { type Observable, Store } from '../store.js'
import { backoffDelay } from './backoff.js'
import { type Ack, Link, type LinkHost, type ReconnectOptions } from './link.js'
import { PresenceChannel, type PresenceDriver } from './presence.js'
import type { RealtimeTransport } from './transport.js'

/**
 * The connection's state: `connecting` (first attempt), `connected`, `reconnecting` (after a drop
 * or a failed attempt, with backoff) or `disconnected` (not started, or `disconnect()` was called).
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected'

/** Options of {@link createRealtimeClient}. */
export interface RealtimeClientOptions {
  /** How to reach the server: `nodeTransport()` or `workerdTransport()`. */
  transport: RealtimeTransport
  /** Backoff between reconnect attempts. */
  reconnect?: ReconnectOptions
  /** How long a request (publish, subscribe, presence) waits for the server. Default 10 000 ms. */
  requestTimeoutMs?: number
  /** Minimum time between two presence updates sent. Default 50 ms. */
  presenceThrottleMs?: number
  /** A silent connection is probed after this long and dropped after twice this. Default 15 000 ms. */
  heartbeatMs?: number
}

/** Delivered with every message. */
export interface MessageMeta {
  /** The message's sequence number in its channel. */
  seq: number
  /** The serialized channel key. */
  channel: string
}

/** Callbacks for one subscriber. */
export interface SubscribeOptions {
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
  /** The subscription failed (for example {@link ForbiddenError}). */
  onError?: (error: RealtimeError) => void
}

/** What `subscribe()` returns: call it to unsubscribe; `ready` settles when the server is live. */
export interface Subscription {
  (): void
  /** Resolves when the server is live for the channel; rejects with the subscribe error. */
  readonly ready: Promise<void>
}

/** The realtime client: one per app, shared by every component. */
export interface RealtimeClient {
  /** Observable connection status. */
  readonly status: Observable<ConnectionStatus>
  /** This connection's id (presence members are keyed by it), once connected. */
  readonly connectionId: string | undefined
  /** The user id the server derived from this connection's identity, once connected. */
  readonly userId: string | undefined
  /** Connects (the client also connects by itself on first use). */
  connect(): void
  /** Disconnects and stays disconnected until `connect()`. Subscriptions are kept and resume then. */
  disconnect(): void
  /**
   * Subscribes to a channel. Subscribers of one channel in one client share one server
   * subscription; the last unsubscribe ends it.
   *
   * @throws {InvalidChannelKeyError} when the key is invalid.
   * @example
   * ```ts
   * const unsubscribe = client.subscribe(['chat', { roomId }], (msg) => console.log(msg))
   * await unsubscribe.ready // the server is live for the channel
   * ```
   */
  subscribe<K extends ChannelKey<any, any>>(
    channel: K,
    onMessage: (data: MessageOf<K>, meta: MessageMeta) => void,
    options?: SubscribeOptions,
  ): Subscription
  /**
   * Publishes to a channel; resolves with the message's sequence number once the server accepted it.
   *
   * @throws {ForbiddenError} {@link TooLargeError} {@link RateLimitedError} {@link TimeoutError}
   *   {@link OfflineError} {@link InvalidError} (as rejections).
   */
  publish<K extends ChannelKey<any, any>>(
    channel: K,
    data: MessageOf<K>,
    options?: { timeoutMs?: number },
  ): Promise<{ seq: number }>
  /**
   * Collection protocol: the rows of a collection channel and the stream position they reflect.
   * Live collections call it; see `liveCollectionOptions`.
   *
   * @throws {ForbiddenError} without `subscribe` permission; {@link InvalidError} when the server serves
   *   no collection on this channel; {@link TimeoutError} {@link OfflineError} (as rejections).
   */
  snapshot<T = unknown>(
    channel: ChannelKey<any, any>,
    options?: { timeoutMs?: number },
  ): Promise<{ rows: T[]; seq: number; epoch: string }>
  /**
   * Collection protocol: asks the server to apply row changes; resolves with the position of the
   * resulting change message on the channel.
   *
   * @throws the error the server's `write` handler threw (such as {@link InvalidError}), or
   *   {@link ForbiddenError} without `publish` permission (as rejections).
   */
  write(channel: ChannelKey<any, any>, ops: WriteOp[], options?: { timeoutMs?: number }): Promise<StreamPosition>
  /**
   * The presence channel for a key, shared by every caller in this client. `enter(state)` joins,
   * `update(patch)` changes this client's state, the snapshot lists `others`.
   */
  presence<K extends ChannelKey<any, any>>(channel: K): PresenceChannel<PresenceStateOf<K>>
}

interface Listener {
  readonly onMessage: (data: any, meta: MessageMeta) => void
  readonly options: SubscribeOptions
  readonly ready: Deferred
}

class ChannelEntry {
  readonly listeners = new Set<Listener>()
  position: StreamPosition | undefined
  state: 'idle' | 'subscribing' | 'live' | 'failed' = 'idle'
  attempt = 0
  /** Retryable subscribe failures in a row (the backoff's exponent). */
  failures = 0
  releaseTimer: TimerHandle | undefined
  retryTimer: TimerHandle | undefined
  constructor(
    readonly ch: string,
    readonly link: Link,
  ) {}
}

const SHARED = ''

class Client implements RealtimeClient, LinkHost {
  readonly #status = new Store<ConnectionStatus>('disconnected')
  readonly status: Observable<ConnectionStatus> = this.#status
  readonly #transport: RealtimeTransport
  readonly #links = new Map<string, Link>()
  readonly #channels = new Map<string, ChannelEntry>()
  readonly #presence = new Map<string, PresenceChannel<any>>()
  readonly #linkOptions: Omit<ConstructorParameters<typeof Link>[0], 'channel'>
  readonly #presenceThrottleMs: number
  /** undefined: not started yet (connect lazily); true: connect() or first use; false: disconnect(). */
  #wanted: boolean | undefined
  /** The server's limits from the last hello (per-channel links share them). */
  #limits: ServerLimits | undefined
  #stopWindowEvents: (() => void) | undefined

  constructor(options: RealtimeClientOptions) {
    if (!options?.transport || typeof options.transport.open !== 'function') {
      throw new InvalidError('createRealtimeClient needs a transport, such as nodeTransport().')
    }
    this.#transport = options.transport
    this.#presenceThrottleMs = intOption(options.presenceThrottleMs ?? 50, 'presenceThrottleMs', 0)
    const reconnect = options.reconnect ?? {}
    this.#linkOptions = {
      transport: options.transport,
      host: this,
      requestTimeoutMs: intOption(options.requestTimeoutMs ?? 10_000, 'requestTimeoutMs'),
      heartbeatMs: intOption(options.heartbeatMs ?? 15_000, 'heartbeatMs'),
      reconnect: {
        initialDelayMs: intOption(reconnect.initialDelayMs ?? 250, 'reconnect.initialDelayMs'),
        maxDelayMs: intOption(reconnect.maxDelayMs ?? 10_000, 'reconnect.maxDelayMs'),
        factor: reconnect.factor ?? 2,
      },
    }
    if (!(this.#linkOptions.reconnect.factor >= 1)) {
      throw new InvalidError('reconnect.factor must be a number >= 1.')
    }
  }

  get connectionId() {
    if (this.#transport.mode === 'shared') return this.#links.get(SHARED)?.connectionId
    for (const link of this.#links.values()) if (link.connectionId) return link.connectionId
    return undefined
  }

  get userId() {
    for (const link of this.#links.values()) if (link.userId) return link.userId
    return undefined
  }

  // Arrow functions: `connect` and `disconnect` can be passed around unbound (onClick={client.connect}).
  connect = (): void => {
    this.#wanted = true
    this.#stopWindowEvents ??= this.#watchWindow()
    if (this.#transport.mode === 'shared') this.#linkFor(SHARED).connect()
    else for (const link of this.#links.values()) link.connect()
    this.stateChanged()
  }

  disconnect = (): void => {
    this.#wanted = false
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
    let entry = this.#channels.get(ch)
    if (!entry) {
      entry = new ChannelEntry(ch, this.#linkFor(ch))
      this.#channels.set(ch, entry)
    }
    clearTimer(entry.releaseTimer)
    const listener: Listener = { onMessage, options, ready: deferred() }
    entry.listeners.add(listener)
    if (entry.state === 'live') {
      listener.ready.resolve()
      options.onLive?.({ recovered: false })
    } else if (entry.state === 'idle' || entry.state === 'failed') {
      this.#ensure()
      if (entry.link.state === 'open') this.#sendSubscribe(entry)
      else if (entry.link.state === 'idle' && this.#wanted) entry.link.connect() // refused before: ask again
    }
    const current = entry
    const unsubscribe = () => {
      if (!current.listeners.delete(listener)) return
      // Deferred so an immediate resubscribe (React StrictMode) keeps the server subscription.
      if (current.listeners.size === 0) current.releaseTimer = setTimer(() => this.#release(current), 0)
    }
    return Object.assign(unsubscribe, { ready: listener.ready.promise })
  }

  async publish<K extends ChannelKey<any, any>>(
    channel: K,
    data: MessageOf<K>,
    options: { timeoutMs?: number } = {},
  ): Promise<{ seq: number }> {
    const ch = serializeChannelKey(channel)
    this.#checkSize(ch, data, 'message')
    const ack = await this.#call(ch, { t: 'pub', data }, options.timeoutMs)
    return { seq: ack.seq ?? 0 }
  }

  async snapshot<T = unknown>(
    channel: ChannelKey<any, any>,
    options: { timeoutMs?: number } = {},
  ): Promise<{ rows: T[]; seq: number; epoch: string }> {
    const ack = await this.#call(serializeChannelKey(channel), { t: 'snap' }, options.timeoutMs)
    return { rows: (ack.rows ?? []) as T[], seq: ack.seq ?? 0, epoch: ack.epoch ?? '' }
  }

  async write(
    channel: ChannelKey<any, any>,
    ops: WriteOp[],
    options: { timeoutMs?: number } = {},
  ): Promise<StreamPosition> {
    const ch = serializeChannelKey(channel)
    if (ops.length > MAX_WRITE_OPS) {
      throw new InvalidError(`At most ${MAX_WRITE_OPS} row changes per write; split the transaction.`)
    }
    this.#checkSize(ch, ops, 'write')
    const ack = await this.#call(ch, { t: 'write', ops }, options.timeoutMs)
    return { seq: ack.seq ?? 0, epoch: ack.epoch ?? '' }
  }

  /**
   * Checks that `data` is JSON and, once the server's limits are known, that it fits `maxMessageBytes`.
   * @throws {InvalidError} {@link TooLargeError}
   */
  #checkSize(ch: string, data: unknown, what: string) {
    const json = toJson(data)
    const max = (this.#links.get(this.#transport.mode === 'shared' ? SHARED : ch)?.limits ?? this.#limits)
      ?.maxMessageBytes
    const bytes = max === undefined || json.length * 3 <= max ? 0 : utf8Length(json)
    if (max !== undefined && bytes > max) {
      throw new TooLargeError(`The ${what} is ${bytes} bytes; the server accepts at most ${max}.`)
    }
  }

  /** Sends a one-off request (publish, snapshot, write) on the channel's link, connecting lazily. */
  async #call(
    ch: string,
    frame: { t: 'pub'; data: unknown } | { t: 'snap' } | { t: 'write'; ops: WriteOp[] },
    timeoutMs?: number,
  ) {
    if (this.#wanted === false) throw new OfflineError('Disconnected: call connect() first.')
    this.#ensure()
    try {
      return await this.#linkFor(ch).request({ ...frame, ch }, timeoutMs)
    } finally {
      this.#releaseLinkIfUnused(ch)
    }
  }

  presence<K extends ChannelKey<any, any>>(channel: K): PresenceChannel<PresenceStateOf<K>> {
    const ch = serializeChannelKey(channel)
    let presence = this.#presence.get(ch)
    if (!presence) {
      presence = new PresenceChannel(ch, this.#presenceDriver(ch), this.#presenceThrottleMs)
      this.#presence.set(ch, presence)
    }
    return presence
  }

  // LinkHost

  opened(link: Link): void {
    this.#limits = link.limits
    for (const entry of this.#channels.values()) {
      if (entry.link === link && entry.listeners.size > 0) this.#sendSubscribe(entry)
    }
    for (const [ch, presence] of this.#presence) {
      if (presence.active && this.#linkFor(ch) === link) presence.rejoin()
    }
  }

  lost(link: Link): void {
    for (const entry of this.#channels.values()) {
      if (entry.link === link && entry.state !== 'failed') entry.state = 'idle'
    }
    for (const [ch, presence] of this.#presence) {
      if ((this.#links.get(ch) ?? this.#links.get(SHARED)) === link) presence.lost()
    }
  }

  refused(link: Link, error: RealtimeError): void {
    for (const entry of this.#channels.values()) {
      if (entry.link !== link || entry.listeners.size === 0) continue
      entry.attempt++
      entry.state = 'failed'
      for (const listener of entry.listeners) {
        listener.ready.reject(error)
        callSafely(listener.options.onError, error)
      }
    }
    if (link.channel !== undefined) this.#presence.get(link.channel)?.fail(error)
  }

  rejected(link: Link, error: RealtimeError): void {
    // Subscribers and presence hear why they are not live yet; they stay wanted and resume on connect.
    for (const entry of this.#channels.values()) {
      if (entry.link !== link || entry.state === 'live') continue
      for (const listener of entry.listeners) {
        listener.ready.reject(error)
        callSafely(listener.options.onError, error)
      }
    }
    for (const presence of this.#presence.values()) if (presence.active) presence.report(error)
  }

  frame(_link: Link, frame: ServerFrame): void {
    if (frame.t === 'msg') this.#message(frame)
    else if (frame.t === 'pres') this.#presence.get(frame.ch)?.apply(frame)
  }

  stateChanged(): void {
    this.#status.set(this.#computeStatus())
  }

  #computeStatus(): ConnectionStatus {
    if (!this.#wanted) return 'disconnected'
    let connecting = false
    for (const link of this.#links.values()) {
      if (link.state === 'waiting' || (link.state === 'connecting' && link.everOpen)) return 'reconnecting'
      if (link.state === 'connecting') connecting = true // an idle link is not needed (or was refused)
      if (link.state === 'closed') return 'disconnected'
    }
    return connecting ? 'connecting' : 'connected'
  }

  #message(frame: Extract<ServerFrame, { t: 'msg' }>) {
    const entry = this.#channels.get(frame.ch)
    const position = entry?.position
    if (!entry || !position || entry.state === 'idle' || entry.state === 'failed') return
    if (frame.seq <= position.seq) return // already delivered
    if (frame.seq > position.seq + 1) {
      // A gap: ask the server to replay from the last message we have.
      if (entry.state === 'live') this.#sendSubscribe(entry)
      return
    }
    position.seq = frame.seq
    const meta: MessageMeta = { seq: frame.seq, channel: frame.ch }
    for (const listener of entry.listeners) {
      try {
        listener.onMessage(frame.data, meta)
      } catch (error) {
        logError('a subscriber threw', error)
      }
    }
  }

  #sendSubscribe(entry: ChannelEntry) {
    clearTimer(entry.retryTimer)
    const attempt = ++entry.attempt
    entry.state = 'subscribing'
    const since = entry.position
    // The ack is handled as it is read: messages that follow it in the same read find the new position.
    const onAck = (ack: Ack) => {
      if (attempt !== entry.attempt) return
      const reset = since !== undefined && ack.reset === true
      const position = { seq: ack.seq ?? 0, epoch: ack.epoch ?? '' }
      // Within one epoch the position only moves forward (replayed messages may already be past the ack's).
      if (!reset && entry.position?.epoch === position.epoch) position.seq = Math.max(position.seq, entry.position.seq)
      entry.position = position
      entry.state = 'live'
      entry.failures = 0
      for (const listener of entry.listeners) {
        if (reset) callSafely(listener.options.onReset)
        listener.ready.resolve()
        callSafely(listener.options.onLive, { recovered: since !== undefined && !reset })
      }
    }
    entry.link
      .request({ t: 'sub', ch: entry.ch, ...(since && { since: { ...since } }) }, undefined, onAck)
      .catch((error: RealtimeError) => {
        if (attempt !== entry.attempt || error.code === 'offline') return // resubscribed on reconnect
        const retry = error.retryable
        entry.state = retry ? 'idle' : 'failed'
        for (const listener of entry.listeners) {
          listener.ready.reject(error)
          callSafely(listener.options.onError, error)
        }
        if (!retry) return
        // A retryable refusal (the server's authorize failed, a timeout): try again with backoff.
        entry.retryTimer = setTimer(
          () => {
            if (entry.state === 'idle' && entry.listeners.size > 0 && entry.link.state === 'open') {
              this.#sendSubscribe(entry)
            }
          },
          backoffDelay(entry.failures++, this.#linkOptions.reconnect),
        )
      })
  }

  #release(entry: ChannelEntry) {
    if (entry.listeners.size > 0 || this.#channels.get(entry.ch) !== entry) return
    this.#channels.delete(entry.ch)
    entry.attempt++
    clearTimer(entry.retryTimer)
    // Unsubscribe even after a subscribe that timed out: the server may hold it anyway.
    if (entry.link.state === 'open') {
      entry.link
        .request({ t: 'unsub', ch: entry.ch })
        .catch(() => {})
        .finally(() => this.#releaseLinkIfUnused(entry.ch))
    }
    this.#releaseLinkIfUnused(entry.ch)
  }

  #presenceDriver(ch: string): PresenceDriver {
    const link = () => this.#linkFor(ch)
    return {
      join: async (channel, state) => {
        const ack = await link().request({ t: 'pjoin', ch: channel, state: state as Record<string, unknown> })
        return ack.members ?? []
      },
      update: (channel, patch) => {
        link()
          .request({ t: 'pset', ch: channel, patch: patch as Record<string, unknown> })
          .catch((error: RealtimeError) => {
            if (error.code !== 'offline') logError('presence update failed', error)
          })
      },
      leave: (channel) => {
        const target = this.#links.get(this.#transport.mode === 'shared' ? SHARED : channel)
        if (target?.state === 'open') {
          target
            .request({ t: 'pleave', ch: channel })
            .catch(() => {})
            .finally(() => this.#releaseLinkIfUnused(channel))
        }
        this.#releaseLinkIfUnused(channel)
      },
      connectionId: () => link().connectionId,
      userId: () => link().userId,
      maxStateBytes: () => link().limits?.maxPresenceBytes,
      isOpen: () => link().state === 'open',
      ensureConnected: () => {
        this.#ensure()
        if (this.#wanted && link().state === 'idle') link().connect() // refused before: ask again
      },
    }
  }

  /** Starts connecting on first use, unless `disconnect()` was called. */
  #ensure() {
    if (this.#wanted === undefined) this.connect()
  }

  #linkFor(ch: string): Link {
    const key = this.#transport.mode === 'shared' ? SHARED : ch
    let link = this.#links.get(key)
    if (!link) {
      link = new Link({ ...this.#linkOptions, channel: key === SHARED ? undefined : ch })
      this.#links.set(key, link)
      if (this.#wanted && key !== SHARED) link.connect()
    }
    return link
  }

  /** Per-channel transports close a channel's socket once nothing in this client uses it. */
  #releaseLinkIfUnused(ch: string) {
    if (this.#transport.mode === 'shared') return
    const link = this.#links.get(ch)
    if (!link || link.pending > 0 || this.#channels.has(ch) || this.#presence.get(ch)?.active) return
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

/** Calls a user callback; what it throws is logged, never breaks the client. */
function callSafely<A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    callback?.(...args)
  } catch (error) {
    logError('a callback threw', error)
  }
}

/** JSON text of `data`, or a typed error for what JSON cannot carry (undefined, BigInt, cycles). */
function toJson(data: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch (error) {
    throw new InvalidError(`Data must be JSON-serializable: ${(error as Error).message}`)
  }
  if (json === undefined) throw new InvalidError('Data must be JSON-serializable.')
  return json
}

/**
 * Creates the realtime client. It connects lazily (on the first subscribe, publish or presence
 * enter) or when `connect()` is called, and reconnects with backoff until `disconnect()`.
 *
 * @throws {InvalidError} when the transport is missing or an option is invalid.
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
