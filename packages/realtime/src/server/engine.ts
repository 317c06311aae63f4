import type { ChannelKey } from '../channel.js'
import { parseChannelKey, serializeChannelKey } from '../channel.js'
import { changesFromOps } from '../collections/changes.js'
import { CloseCodes, InvalidError, RealtimeError, type RealtimeErrorCode, TooLargeError } from '../errors.js'
import { intOption } from '../options.js'
import {
  type ClientFrame,
  decodeClientFrame,
  encodeFrame,
  encodeResyncFrame,
  frameTooLarge,
  type IncomingFrame,
  MAX_JSON_DEPTH,
  maxFrameSize,
  nestedDeeperThan,
  type RateLimit,
  type ServerFrame,
  type ServerLimits,
  type StreamPosition,
  tooDeep,
  utf8Length,
} from '../protocol.js'
import { TokenBucket } from '../rate-limit.js'
import { clearTimer, logError, randomId, setTimer, type TimerHandle } from '../runtime.js'
import { type Broker, type BrokerListener, MemoryBroker, type ReadResult, type TakenOver } from './broker.js'
import type { CollectionSource } from './collections.js'
import { Frame } from './frame.js'
import { defaultUserId } from './user-id.js'

/** What a user may do on one channel. Missing fields mean `false`. */
export interface Permissions {
  subscribe?: boolean
  publish?: boolean
  presence?: boolean
}

/**
 * Decides what `identity` may do on `channel`. Return `null` (or nothing) to deny everything.
 * The answer is cached per connection and channel (up to 256 channels at a time, the oldest dropped
 * first) for the life of the connection; a reconnect asks again.
 */
export type Authorize<I> = (
  identity: I,
  channel: ChannelKey,
) => Permissions | null | undefined | Promise<Permissions | null | undefined>

/** Options shared by both presets' servers. */
export interface EngineOptions<I> {
  /** Per-channel permissions. Default: everything allowed (set it in production). */
  authorize?: Authorize<I>
  /**
   * The user id shown in presence. Default: the identity itself when it is a string or number,
   * else its `userId`, `id` or `sub` field.
   */
  getUserId?: (identity: I) => string
  /** Where channel state lives. Default: a {@link MemoryBroker} with `historySize` and `historyTtlMs`. */
  broker?: Broker
  /** Messages kept per channel for resume (default broker only). Default 200. */
  historySize?: number
  /** How long an idle channel keeps its history (default broker only). Default 120 000 ms. */
  historyTtlMs?: number
  /**
   * Total size of the history of every channel (default broker only), in characters of message
   * frames. Past it, the history of the longest-idle channels is dropped first. Default 64 MiB.
   */
  maxHistoryBytes?: number
  /** Largest message `data`, in UTF-8 bytes of its JSON. Default 65 536. */
  maxMessageBytes?: number
  /** Largest presence state, in UTF-8 bytes of its JSON. Default 1024. */
  maxPresenceBytes?: number
  /** Channels one connection may subscribe to or be present in at once. Default 100. */
  maxChannelsPerConnection?: number
  /** Requests per connection. Default 100/s with bursts of 200; `false` disables it. */
  rateLimit?: RateLimit | false
  /** How long a dropped connection stays present, so a quick reconnect does not flicker. Default 5000 ms. */
  presenceGraceMs?: number
  /** Collection channels served by this server, by channel name (see {@link CollectionSource}). */
  collections?: Record<string, CollectionSource<I>>
  /** Called with errors thrown by user callbacks and internal failures. Default: `console.error`. */
  onError?: (error: unknown) => void
}

/** How the engine talks to one client socket. Presets implement it. */
export interface ConnectionSink {
  send(frame: Frame): void
  close(code: number, reason: string): void
}

/** One client connection as the engine sees it. */
export interface EngineConnection {
  readonly id: string
  readonly userId: string
  /**
   * Hands the engine a frame received from the client: its text, or the bytes of a binary frame
   * (refused: the protocol is text only).
   */
  receive(frame: IncomingFrame): void
  /**
   * Tells the engine the socket closed, with the close code the client sent when known. A client
   * that said goodbye (1000 from `disconnect()`, 1001 when a page unloads) leaves presence at once;
   * any other end keeps its presence for the grace period, so a quick reconnect does not flicker.
   */
  closed(code?: number): void
}

export interface EngineStats {
  connections: number
  /** Channels with at least one local subscriber or present member. */
  channels: number
}

/** The runtime-neutral server: sessions, channel membership, authorization, presence, sequence, limits. */
export interface RealtimeEngine<I> {
  readonly limits: ServerLimits
  /**
   * Registers an authenticated connection. `resume` is the id of an earlier connection of the same
   * user: within the presence grace period it keeps that id and its presence.
   */
  connect(identity: I, sink: ConnectionSink, options?: { resume?: string | null }): EngineConnection
  /**
   * Server-side publish: delivered to every subscriber, with no authorization check.
   * @throws {InvalidChannelKeyError} for a bad key; {@link TooLargeError} when `data` is too large.
   */
  publish(channel: ChannelKey, data: unknown): Promise<StreamPosition>
  stats(): EngineStats
  /**
   * Number of connections subscribed to `channel` on this server whose subscription is live (its ack
   * sent: every later message reaches them). For tests and dashboards.
   */
  subscriberCount(channel: ChannelKey): number
  /** Closes every connection with 1001 (clients reconnect) and stops timers. */
  close(): Promise<void>
}

interface Subscription {
  readonly conn: Connection
  /** Messages that arrived while the subscription was catching up; null once live. */
  pending: Array<{ seq: number; frame: Frame }> | null
  /**
   * Once live, the sequence number it is past: a message at or before it (a broker fed by another
   * process's stream may hand it one the catch-up already sent) is not sent again. Infinity once
   * the broker lost continuity: nothing more until the client subscribes again.
   */
  after: number
}

type MaybePromise<T> = T | Promise<T>

function settle<T, R>(value: MaybePromise<T>, next: (value: T) => R): R | Promise<Awaited<R>> {
  return value instanceof Promise ? (value.then(next) as Promise<Awaited<R>>) : next(value)
}

const NO_PRESENCE: ReadonlyMap<string, Record<string, unknown>> = new Map()
const PING = '{"t":"ping"}'
const PONG = new Frame('{"t":"pong"}')
/** Bounds on the frames one connection may have queued behind a request still in progress. */
const MAX_BACKLOG_FRAMES = 1024
const MAX_BACKLOG_CHARS = 8 * 1024 * 1024
const MAX_CACHED_PERMISSIONS = 256
const MAX_CACHED_KEYS = 10_000

/** Past any sequence number: the `seq` of a resync hint. */
const RESYNC_SEQ = Number.MAX_SAFE_INTEGER

class LocalChannel implements BrokerListener {
  readonly subscribers = new Set<Subscription>()
  readonly present = new Map<string, Connection>()

  constructor(readonly ch: string) {}

  message(seq: number, frame: Frame): void {
    for (const sub of this.subscribers) {
      if (sub.pending) sub.pending.push({ seq, frame })
      else if (seq > sub.after) sub.conn.send(frame)
    }
  }

  presence(frame: Frame, originCid: string): void {
    for (const [cid, conn] of this.present) if (cid !== originCid) conn.send(frame)
  }

  /**
   * The broker lost continuity: each subscriber gets a resync hint (a `msg` past any position, so the
   * client sees a gap and subscribes again from its position: replay or reset), then nothing more.
   */
  reset(): void {
    const hint = new Frame(encodeResyncFrame(JSON.stringify(this.ch), RESYNC_SEQ))
    for (const sub of this.subscribers) {
      if (sub.pending) sub.pending.push({ seq: RESYNC_SEQ, frame: hint })
      else if (sub.after !== Number.POSITIVE_INFINITY) {
        sub.conn.send(hint)
        sub.after = Number.POSITIVE_INFINITY
      }
    }
  }

  claimed(cid: string): void {
    const conn = this.present.get(cid)
    if (conn) conn.engine.claimedElsewhere(conn)
  }

  get empty(): boolean {
    return this.subscribers.size === 0 && this.present.size === 0
  }
}

class Connection implements EngineConnection {
  open = true
  readonly subs = new Map<string, Subscription>()
  /** Presence state per channel this connection is present in. */
  presence: ReadonlyMap<string, Record<string, unknown>> = NO_PRESENCE

  /** Sets this connection's state on a channel (the map is created on first use: most connections have none). */
  setPresence(ch: string, state: Record<string, unknown>): void {
    if (this.presence === NO_PRESENCE) this.presence = new Map()
    ;(this.presence as Map<string, Record<string, unknown>>).set(ch, state)
  }

  deletePresence(ch: string): boolean {
    return this.presence !== NO_PRESENCE && (this.presence as Map<string, unknown>).delete(ch)
  }
  readonly permissions = new Map<string, MaybePromise<Permissions>>()
  /** Request rate limit (undefined when disabled). */
  readonly bucket: TokenBucket | undefined
  /** Frames waiting behind one that is still being handled (null when none is). */
  backlog: IncomingFrame[] | null = null
  /** The id of the request being handled until it is answered. */
  request: number | undefined = undefined
  backlogChars = 0
  graceTimer: TimerHandle | undefined
  /** The secret a reconnecting client presents to keep this connection's id and presence. */
  readonly resumeToken = randomId(24)
  /** Inherited presence channels not yet confirmed by a join since the resume. */
  unconfirmed: Set<string> | undefined

  constructor(
    readonly engine: Engine<any>,
    /** Changes once when the connection resumes one that another process held. */
    public id: string,
    readonly userId: string,
    readonly identity: unknown,
    readonly sink: ConnectionSink,
  ) {
    this.bucket = engine.rateLimit ? new TokenBucket(engine.rateLimit) : undefined
  }

  send(frame: Frame): void {
    if (this.open) this.sink.send(frame)
  }

  receive(frame: IncomingFrame): void {
    if (!this.open) return
    if (!this.backlog) {
      this.engine.process(this, frame)
      return
    }
    // A heartbeat is answered even while a slow request (authorize, load, write) is in progress.
    if (frame === PING) {
      this.send(PONG)
      return
    }
    this.backlog.push(frame)
    this.backlogChars += frameLength(frame)
    if (this.backlog.length > MAX_BACKLOG_FRAMES || this.backlogChars > MAX_BACKLOG_CHARS) {
      this.sink.close(CloseCodes.RateLimited, 'too many requests waiting')
      this.engine.disconnected(this)
    }
  }

  closed(code?: number): void {
    this.engine.disconnected(this, code === CloseCodes.Normal || code === CloseCodes.GoingAway)
  }

  channelCount(): number {
    let count = this.subs.size
    for (const ch of this.presence.keys()) if (!this.subs.has(ch)) count++
    return count
  }
}

class Engine<I> implements RealtimeEngine<I> {
  readonly limits: ServerLimits
  readonly #limitsJson: string
  readonly rateLimit: RateLimit | false
  readonly #broker: Broker
  readonly #authorize: Authorize<I>
  readonly #getUserId: (identity: I) => string
  readonly #graceMs: number
  readonly #onError: (error: unknown) => void
  readonly #maxFrameChars: number
  readonly #frameTooLarge: Frame
  readonly #collections: Record<string, CollectionSource<I>>
  readonly #connections = new Map<string, Connection>()
  /** Dropped connections still present during the grace period, by id. */
  readonly #graced = new Map<string, Connection>()
  /** Open and graced connections by resume token. */
  readonly #resumable = new Map<string, Connection>()
  readonly #channels = new Map<string, LocalChannel>()

  constructor(options: EngineOptions<I>) {
    this.limits = {
      maxMessageBytes: intOption(options.maxMessageBytes ?? 65_536, 'maxMessageBytes'),
      maxPresenceBytes: intOption(options.maxPresenceBytes ?? 1024, 'maxPresenceBytes'),
      maxChannels: intOption(options.maxChannelsPerConnection ?? 100, 'maxChannelsPerConnection'),
    }
    const rate = options.rateLimit ?? { perSecond: 100, burst: 200 }
    this.rateLimit = rate && {
      perSecond: intOption(rate.perSecond, 'rateLimit.perSecond'),
      burst: intOption(rate.burst, 'rateLimit.burst'),
    }
    if (this.rateLimit) this.limits.rateLimit = this.rateLimit // announced, so clients pace themselves
    this.#limitsJson = JSON.stringify(this.limits)
    this.#graceMs = intOption(options.presenceGraceMs ?? 5000, 'presenceGraceMs', 0)
    this.#broker =
      options.broker ??
      new MemoryBroker({
        ...(options.historySize !== undefined && { historySize: options.historySize }),
        ...(options.historyTtlMs !== undefined && { historyTtlMs: options.historyTtlMs }),
        ...(options.maxHistoryBytes !== undefined && { maxHistoryBytes: options.maxHistoryBytes }),
      })
    this.#authorize = options.authorize ?? (() => ({ subscribe: true, publish: true, presence: true }))
    this.#getUserId = options.getUserId ?? defaultUserId
    this.#collections = options.collections ?? {}
    this.#onError = options.onError ?? logError
    this.#maxFrameChars = maxFrameSize(this.limits)
    this.#frameTooLarge = this.#frame(frameTooLarge(this.#maxFrameChars))
  }

  connect(identity: I, sink: ConnectionSink, options: { resume?: string | null } = {}): EngineConnection {
    const userId = this.#getUserId(identity)
    let id = randomId()
    let inherited: ReadonlyMap<string, Record<string, unknown>> | undefined
    const previous = options.resume ? this.#resumable.get(options.resume) : undefined
    if (previous && previous.userId === userId) {
      // The same client is back (its old socket may not even have been noticed dead yet).
      id = previous.id
      inherited = previous.presence
      previous.presence = NO_PRESENCE
      this.#forget(previous)
      if (previous.open) {
        previous.sink.close(CloseCodes.Replaced, 'replaced by a newer connection')
        this.disconnected(previous)
      }
    }
    const conn = new Connection(this, id, userId, identity, sink)
    const takeOver = this.#broker.takeOver
    if (!previous && options.resume && takeOver) {
      // The connection may have lived on another process: its hello waits for the broker's answer,
      // and requests queue behind it.
      conn.backlog = []
      conn.backlogChars = 0
      takeOver.call(this.#broker, options.resume, userId, conn).then(
        (taken) => this.#tookOver(conn, taken),
        (error) => {
          if (!(error instanceof RealtimeError)) this.#onError(error)
          this.#tookOver(conn, undefined)
        },
      )
      return conn
    }
    if (inherited?.size) this.#inherit(conn, inherited)
    this.#open(conn, inherited !== undefined)
    return conn
  }

  /** Gives a resumed connection the memberships it inherited until it confirms them by joining again. */
  #inherit(conn: Connection, inherited: ReadonlyMap<string, Record<string, unknown>>) {
    conn.presence = inherited
    for (const ch of inherited.keys()) this.#channel(ch).present.set(conn.id, conn)
    // The client re-joins what it still wants; what it left while away is dropped.
    conn.unconfirmed = new Set(inherited.keys())
    conn.graceTimer = setTimer(() => {
      for (const ch of conn.unconfirmed ?? []) this.#quietly(this.#leave(conn, ch))
      conn.unconfirmed = undefined
    }, this.#graceMs)
  }

  /** Registers a connection and sends its hello. */
  #open(conn: Connection, resumed: boolean) {
    this.#connections.set(conn.id, conn)
    this.#resumable.set(conn.resumeToken, conn)
    // Built by hand around the cached limits JSON: connecting is a hot path too.
    conn.send(
      new Frame(
        `{"t":"hello","cid":"${conn.id}","uid":${JSON.stringify(conn.userId)},"resumed":${resumed},` +
          `"resume":"${conn.resumeToken}","limits":${this.#limitsJson}}`,
      ),
    )
  }

  /** The broker answered whether another process held the connection this one resumes. */
  #tookOver(conn: Connection, taken: TakenOver | undefined) {
    if (taken) {
      conn.id = taken.cid
      if (taken.presence.size > 0) this.#inherit(conn, taken.presence)
    }
    if (!conn.open) {
      // The socket closed meanwhile: what it took over gets the grace period.
      if (conn.presence.size > 0) this.#grace(conn)
      return
    }
    this.#open(conn, taken !== undefined)
    this.#drain(conn)
  }

  /**
   * Connection `conn`'s memberships were taken over by a connection that resumed on another process:
   * it lets them go here without announcing a leave, and its socket (if still open) is replaced.
   */
  claimedElsewhere(conn: Connection): void {
    const channels = [...conn.presence.keys()]
    conn.presence = NO_PRESENCE
    conn.unconfirmed = undefined
    for (const ch of channels) this.#dropPresence(ch, conn)
    this.#forget(conn)
    if (conn.open) {
      conn.sink.close(CloseCodes.Replaced, 'resumed on another server')
      this.disconnected(conn)
    }
  }

  /** A leave (or any broker write) whose failure needs no answer: typed broker errors are the broker's to report. */
  #quietly(result: MaybePromise<void>) {
    if (result instanceof Promise) {
      result.catch((error) => {
        if (!(error instanceof RealtimeError)) this.#onError(error)
      })
    }
  }

  /** Drops a connection's resume record and grace timer. */
  #forget(conn: Connection) {
    clearTimer(conn.graceTimer)
    if (this.#graced.get(conn.id) === conn) this.#graced.delete(conn.id)
    if (this.#resumable.get(conn.resumeToken) === conn) this.#resumable.delete(conn.resumeToken)
  }

  async publish(channel: ChannelKey, data: unknown): Promise<StreamPosition> {
    const ch = serializeChannelKey(channel)
    if (nestedDeeperThan(data, MAX_JSON_DEPTH)) throw new InvalidError(tooDeep('Message data'))
    const dataJson = JSON.stringify(data)
    if (dataJson === undefined) throw new InvalidError('Message data must be JSON-serializable.')
    if (exceedsBytes(dataJson, this.limits.maxMessageBytes)) {
      throw new TooLargeError(`Message is larger than maxMessageBytes (${this.limits.maxMessageBytes}).`)
    }
    return this.#broker.publish(ch, dataJson)
  }

  stats(): EngineStats {
    return { connections: this.#connections.size, channels: this.#channels.size }
  }

  subscriberCount(channel: ChannelKey): number {
    let live = 0
    for (const sub of this.#channels.get(serializeChannelKey(channel))?.subscribers ?? []) if (!sub.pending) live++
    return live
  }

  async close(): Promise<void> {
    for (const conn of [...this.#connections.values()]) {
      conn.sink.close(CloseCodes.GoingAway, 'server shutting down')
      this.disconnected(conn)
    }
    for (const conn of [...this.#graced.values()]) {
      this.#forget(conn)
      this.#leaveAll(conn)
    }
    await this.#broker.close()
  }

  /** Handles one frame; while a frame waits on something async, later ones queue behind it. */
  process(conn: Connection, frame: IncomingFrame): void {
    const pending = this.#run(conn, frame)
    if (!pending) return
    conn.backlog = []
    conn.backlogChars = 0
    pending.finally(() => this.#drain(conn))
  }

  #drain(conn: Connection): void {
    // A non-null backlog means a frame is in progress; receive() queues behind it.
    while (conn.backlog) {
      const next = conn.backlog.shift()
      if (next === undefined) {
        conn.backlog = null
        return
      }
      conn.backlogChars -= frameLength(next)
      const pending = this.#run(conn, next)
      if (pending) {
        pending.finally(() => this.#drain(conn))
        return
      }
    }
  }

  /**
   * Handles one frame and makes sure a request gets exactly one answer: whatever throws or rejects
   * while handling it (a broker, a bug) is reported and answered with `internal`.
   */
  #run(conn: Connection, input: IncomingFrame): Promise<unknown> | undefined {
    let frame: Exclude<ClientFrame, { t: 'ping' }> | undefined
    try {
      frame = this.#request(conn, input)
      if (!frame) return undefined
      conn.request = frame.id
      const result = this.#handle(conn, frame)
      if (result instanceof Promise) {
        const { id, t } = frame
        return result.then(
          () => this.#handled(conn, id, t),
          (error) => this.#crashed(conn, id, error),
        )
      }
      this.#handled(conn, frame.id, frame.t)
    } catch (error) {
      this.#crashed(conn, frame?.id, error)
    }
    return undefined
  }

  /** A request's handler finished: one that did not answer (a bug) is answered with `internal`. */
  #handled(conn: Connection, id: number, t: string) {
    if (conn.request === id && conn.open) this.#crashed(conn, id, new Error(`The server did not answer a "${t}".`))
  }

  /** A request failed: a RealtimeError (such as a broker's retryable timeout) travels as is, anything else is reported. */
  #crashed(conn: Connection, id: number | undefined, error: unknown) {
    const typed = error instanceof RealtimeError
    if (!typed) this.#onError(error)
    if (id !== undefined && conn.request === id) {
      if (typed) this.#sendError(conn, id, error.code, error.message)
      else this.#sendError(conn, id, 'internal', 'The server failed to handle this request.')
    }
  }

  disconnected(conn: Connection, goodbye = false): void {
    if (!conn.open) return
    conn.open = false
    conn.backlog = null
    if (this.#connections.get(conn.id) === conn) this.#connections.delete(conn.id)
    for (const [ch, sub] of conn.subs) this.#removeSubscription(ch, sub)
    conn.subs.clear()
    conn.permissions.clear()
    clearTimer(conn.graceTimer)
    conn.unconfirmed = undefined
    if (goodbye || conn.presence.size === 0 || this.#graceMs === 0) {
      this.#forget(conn)
      this.#leaveAll(conn)
      return
    }
    this.#grace(conn)
  }

  /** A dropped connection stays present for the grace period (a reconnect may resume it meanwhile). */
  #grace(conn: Connection) {
    clearTimer(conn.graceTimer)
    this.#graced.set(conn.id, conn)
    conn.graceTimer = setTimer(() => {
      this.#forget(conn)
      this.#leaveAll(conn)
    }, this.#graceMs)
  }

  /**
   * Decodes a frame and applies the limits every frame is subject to. Returns the request to handle,
   * or nothing when the frame was answered here (a ping, an invalid or rate-limited frame) or closed
   * the connection.
   */
  #request(conn: Connection, input: IncomingFrame): Exclude<ClientFrame, { t: 'ping' }> | undefined {
    if (frameLength(input) > this.#maxFrameChars) {
      conn.send(this.#frameTooLarge)
      conn.sink.close(CloseCodes.MessageTooBig, 'frame too large')
      this.disconnected(conn)
      return
    }
    const frame = decodeClientFrame(input)
    if (!('error' in frame) && frame.t === 'ping') {
      conn.send(PONG)
      return
    }
    // Every other frame costs a token, malformed ones included.
    if (conn.bucket && !conn.bucket.take()) {
      if (conn.bucket.flooding) {
        conn.sink.close(CloseCodes.RateLimited, 'rate limit exceeded')
        this.disconnected(conn)
        return
      }
      this.#sendError(conn, frame.id, 'rate_limited', 'Too many requests: slow down and retry.')
      return
    }
    if ('error' in frame) {
      this.#sendError(conn, frame.id, 'invalid', frame.error)
      return
    }
    return frame
  }

  #handle(conn: Connection, frame: Exclude<ClientFrame, { t: 'ping' }>): MaybePromise<void> {
    let key: ChannelKey
    try {
      key = this.#parseKey(frame.ch)
    } catch (error) {
      return this.#sendError(conn, frame.id, 'invalid', (error as Error).message)
    }
    switch (frame.t) {
      case 'sub':
        return this.#subscribe(conn, frame, key)
      case 'unsub': {
        const sub = conn.subs.get(frame.ch)
        if (sub) {
          conn.subs.delete(frame.ch)
          this.#removeSubscription(frame.ch, sub)
        }
        return this.#ack(conn, frame.id)
      }
      case 'pub':
        return this.#publish(conn, frame, key)
      case 'pjoin':
        return this.#join(conn, frame, key)
      case 'pset':
        return this.#update(conn, frame)
      case 'snap':
        return this.#snapshot(conn, frame, key)
      case 'write':
        return this.#write(conn, frame, key)
      case 'pleave':
        conn.unconfirmed?.delete(frame.ch)
        return settle(this.#leave(conn, frame.ch), () => this.#ack(conn, frame.id))
    }
  }

  /** Parsed channel keys, shared (frozen) across connections: parsing validates, so it is worth caching. */
  readonly #keys = new Map<string, ChannelKey>()

  #parseKey(ch: string): ChannelKey {
    let key = this.#keys.get(ch)
    if (!key) {
      key = deepFreeze(parseChannelKey(ch))
      if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear()
      this.#keys.set(ch, key)
    }
    return key
  }

  #subscribe(conn: Connection, frame: Extract<ClientFrame, { t: 'sub' }>, key: ChannelKey): MaybePromise<void> {
    const { id, ch, since } = frame
    if (!conn.subs.has(ch) && !conn.presence.has(ch) && conn.channelCount() >= this.limits.maxChannels) {
      return this.#sendError(conn, id, 'limit_exceeded', `At most ${this.limits.maxChannels} channels per connection.`)
    }
    return this.#allowed(conn, id, ch, key, 'subscribe', () => {
      const existing = conn.subs.get(ch)
      if (existing) this.#removeSubscription(ch, existing)
      const sub: Subscription = { conn, pending: [], after: 0 }
      conn.subs.set(ch, sub)
      this.#channel(ch).subscribers.add(sub)
      return settle(this.#broker.read(ch, since), (result: ReadResult) => {
        if (conn.subs.get(ch) !== sub) return
        let last = result.position.seq
        for (const message of result.messages) conn.send(message.frame)
        const { seq, epoch } = result.position
        const reset = result.reset ? ',"reset":true' : ''
        this.#answer(
          conn,
          id,
          new Frame(`{"t":"ack","id":${id},"seq":${seq},"epoch":${JSON.stringify(epoch)}${reset}}`),
        )
        const pending = sub.pending ?? []
        sub.pending = null
        for (const message of pending) {
          if (message.seq > last) {
            conn.send(message.frame)
            last = message.seq
          }
        }
        sub.after = last
      })
    })
  }

  #publish(conn: Connection, frame: Extract<ClientFrame, { t: 'pub' }>, key: ChannelKey): MaybePromise<void> {
    const dataJson = JSON.stringify(frame.data)
    if (exceedsBytes(dataJson, this.limits.maxMessageBytes)) {
      return this.#sendError(conn, frame.id, 'too_large', `Message larger than ${this.limits.maxMessageBytes} bytes.`)
    }
    return this.#allowed(conn, frame.id, frame.ch, key, 'publish', () =>
      settle(this.#broker.publish(frame.ch, dataJson), (position) => {
        this.#answer(conn, frame.id, new Frame(`{"t":"ack","id":${frame.id},"seq":${position.seq}}`))
      }),
    )
  }

  #join(conn: Connection, frame: Extract<ClientFrame, { t: 'pjoin' }>, key: ChannelKey): MaybePromise<void> {
    const { id, ch, state } = frame
    if (exceedsBytes(JSON.stringify(state), this.limits.maxPresenceBytes)) {
      return this.#sendError(conn, id, 'too_large', `Presence state larger than ${this.limits.maxPresenceBytes} bytes.`)
    }
    if (!conn.subs.has(ch) && !conn.presence.has(ch) && conn.channelCount() >= this.limits.maxChannels) {
      return this.#sendError(conn, id, 'limit_exceeded', `At most ${this.limits.maxChannels} channels per connection.`)
    }
    return this.#allowed(conn, id, ch, key, 'presence', () => {
      conn.unconfirmed?.delete(ch)
      conn.setPresence(ch, state)
      this.#channel(ch).present.set(conn.id, conn)
      return settle(this.#broker.presenceJoin(ch, { cid: conn.id, uid: conn.userId, state }, conn), (members) => {
        this.#answer(conn, id, this.#frame({ t: 'ack', id, members }))
      })
    })
  }

  #update(conn: Connection, frame: Extract<ClientFrame, { t: 'pset' }>): MaybePromise<void> {
    const { id, ch, patch } = frame
    const current = conn.presence.get(ch)
    if (!current) return this.#sendError(conn, id, 'invalid', 'Join presence on this channel before updating it.')
    const next = { ...current, ...patch }
    if (exceedsBytes(JSON.stringify(next), this.limits.maxPresenceBytes)) {
      return this.#sendError(conn, id, 'too_large', `Presence state larger than ${this.limits.maxPresenceBytes} bytes.`)
    }
    conn.setPresence(ch, next)
    return settle(this.#broker.presenceUpdate(ch, conn.id, patch), () => this.#ack(conn, id))
  }

  #collection(conn: Connection, id: number, key: ChannelKey): CollectionSource<I> | undefined {
    const source = Object.hasOwn(this.#collections, key[0]) ? this.#collections[key[0]] : undefined
    if (!source) this.#sendError(conn, id, 'invalid', `No collection is served on channel "${key[0]}".`)
    return source
  }

  #snapshot(conn: Connection, frame: Extract<ClientFrame, { t: 'snap' }>, key: ChannelKey): MaybePromise<void> {
    const { id, ch } = frame
    const source = this.#collection(conn, id, key)
    if (!source) return
    return this.#allowed(conn, id, ch, key, 'subscribe', () =>
      // The position is read before loading: changes after it are delivered on the channel and
      // applied idempotently, so no change falls between the snapshot and the live stream.
      settle(this.#broker.read(ch), async ({ position }) => {
        try {
          const rows = await source.load(key, conn.identity as I)
          if (!Array.isArray(rows)) throw new TypeError(`collections.${key[0]}.load must return an array of rows.`)
          this.#answer(conn, id, this.#frame({ t: 'ack', id, rows, seq: position.seq, epoch: position.epoch }))
        } catch (error) {
          this.#rejected(conn, id, error, 'The server failed to load the collection.')
        }
      }),
    )
  }

  #write(conn: Connection, frame: Extract<ClientFrame, { t: 'write' }>, key: ChannelKey): MaybePromise<void> {
    const { id, ch, ops } = frame
    const source = this.#collection(conn, id, key)
    if (!source) return
    const write = source.write
    if (!write) return this.#sendError(conn, id, 'forbidden', `The collection "${key[0]}" is read-only.`)
    const apply = async () => {
      const changes =
        (await write.call(source, ops, { channel: key, identity: conn.identity as I })) ?? changesFromOps(ops)
      const dataJson = JSON.stringify({ changes })
      if (exceedsBytes(dataJson, this.limits.maxMessageBytes)) {
        throw new TooLargeError(`The resulting changes are larger than ${this.limits.maxMessageBytes} bytes.`)
      }
      const position = await this.#broker.publish(ch, dataJson)
      this.#answer(conn, id, this.#frame({ t: 'ack', id, seq: position.seq, epoch: position.epoch }))
    }
    // A broker shared by several processes orders the channel's writes across them too.
    const exclusive = this.#broker.exclusive
    return this.#allowed(conn, id, ch, key, 'publish', () =>
      this.#serialized(ch, async () => {
        try {
          await (exclusive ? exclusive.call(this.#broker, ch, apply) : apply())
        } catch (error) {
          this.#rejected(conn, id, error, 'The server failed to apply the write.')
        }
      }),
    )
  }

  /** The last write in progress per collection channel. */
  readonly #writes = new Map<string, Promise<void>>()

  /**
   * Runs a channel's writes one at a time, so the order changes are broadcast in is the order the
   * `write` handler applied them (two clients' concurrent writes to one row end the same everywhere).
   */
  #serialized(ch: string, task: () => Promise<void>): Promise<void> {
    const run = (this.#writes.get(ch) ?? Promise.resolve()).then(task)
    this.#writes.set(ch, run)
    run.finally(() => {
      if (this.#writes.get(ch) === run) this.#writes.delete(ch)
    })
    return run
  }

  /** Answers a request whose user callback threw: a RealtimeError travels as is, anything else is reported. */
  #rejected(conn: Connection, id: number, error: unknown, message: string) {
    if (error instanceof RealtimeError) return this.#sendError(conn, id, error.code, error.message)
    this.#onError(error)
    this.#sendError(conn, id, 'internal', message)
  }

  /** Runs `action` when the connection holds `permission` on the channel, else answers forbidden. */
  #allowed(
    conn: Connection,
    id: number,
    ch: string,
    key: ChannelKey,
    permission: keyof Permissions,
    action: () => MaybePromise<void>,
  ): MaybePromise<void> {
    let permissions: MaybePromise<Permissions>
    try {
      permissions = this.#permissions(conn, ch, key)
    } catch (error) {
      return this.#failed(conn, id, error)
    }
    const run = (granted: Permissions) => {
      if (!conn.open) return
      if (granted[permission] !== true) {
        return this.#sendError(conn, id, 'forbidden', `Not allowed to ${permission} on ${ch}.`)
      }
      return action()
    }
    if (permissions instanceof Promise) return permissions.then(run, (error) => this.#failed(conn, id, error))
    return run(permissions)
  }

  #permissions(conn: Connection, ch: string, key: ChannelKey): MaybePromise<Permissions> {
    const cached = conn.permissions.get(ch)
    if (cached) return cached
    if (conn.permissions.size >= MAX_CACHED_PERMISSIONS) {
      const oldest = conn.permissions.keys().next().value
      if (oldest !== undefined) conn.permissions.delete(oldest)
    }
    const answer = this.#authorize(conn.identity as I, key)
    if (answer instanceof Promise) {
      const promise = answer.then((value) => {
        const granted = value ?? {}
        if (conn.permissions.get(ch) === promise) conn.permissions.set(ch, granted)
        return granted
      })
      promise.catch(() => conn.permissions.delete(ch))
      conn.permissions.set(ch, promise)
      return promise
    }
    const granted = answer ?? {}
    conn.permissions.set(ch, granted)
    return granted
  }

  #failed(conn: Connection, id: number, error: unknown) {
    this.#onError(error)
    this.#sendError(conn, id, 'internal', 'The server failed to authorize this request.')
  }

  #removeSubscription(ch: string, sub: Subscription) {
    const channel = this.#channels.get(ch)
    if (!channel) return
    channel.subscribers.delete(sub)
    this.#releaseIfEmpty(ch, channel)
  }

  #dropPresence(ch: string, conn: Connection) {
    const channel = this.#channels.get(ch)
    if (!channel || channel.present.get(conn.id) !== conn) return
    channel.present.delete(conn.id)
    this.#releaseIfEmpty(ch, channel)
  }

  /** Removes the connection from one channel's presence and announces it; returns what the broker returns. */
  #leave(conn: Connection, ch: string): MaybePromise<void> {
    if (!conn.deletePresence(ch)) return
    this.#dropPresence(ch, conn)
    return this.#broker.presenceLeave(ch, conn.id)
  }

  #leaveAll(conn: Connection) {
    for (const ch of [...conn.presence.keys()]) this.#quietly(this.#leave(conn, ch))
  }

  #channel(ch: string): LocalChannel {
    let channel = this.#channels.get(ch)
    if (!channel) {
      channel = new LocalChannel(ch)
      this.#channels.set(ch, channel)
      this.#broker.subscribe(ch, channel)
    }
    return channel
  }

  #releaseIfEmpty(ch: string, channel: LocalChannel) {
    if (!channel.empty) return
    this.#channels.delete(ch)
    this.#broker.unsubscribe(ch, channel)
  }

  #ack(conn: Connection, id: number) {
    this.#answer(conn, id, new Frame(`{"t":"ack","id":${id}}`))
  }

  #sendError(conn: Connection, id: number | undefined, code: RealtimeErrorCode, msg: string) {
    if (id === undefined) conn.send(this.#frame({ t: 'err', code, msg }))
    else this.#answer(conn, id, this.#frame({ t: 'err', id, code, msg }))
  }

  /** Sends the answer to request `id` (an `ack` or `err`), marking the request answered. */
  #answer(conn: Connection, id: number, frame: Frame) {
    if (conn.request === id) conn.request = undefined
    conn.send(frame)
  }

  #frame(frame: ServerFrame): Frame {
    return new Frame(encodeFrame(frame))
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item)
    Object.freeze(value)
  }
  return value
}

function frameLength(frame: IncomingFrame): number {
  return typeof frame === 'string' ? frame.length : frame.byteLength
}

function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true
  return text.length * 3 > max && utf8Length(text) > max
}

/**
 * Creates the runtime-neutral server engine that both presets share.
 *
 * @throws {InvalidOptionsError} when a limit is not a positive integer.
 * @example
 * ```ts
 * const engine = createRealtimeEngine({ authorize: (userId, [name]) => ({ subscribe: true }) })
 * const conn = engine.connect(userId, { send: (frame) => socket.send(frame.text), close: (c, r) => socket.close(c, r) })
 * socket.on('message', (data, isBinary) => conn.receive(isBinary ? data : String(data)))
 * socket.on('close', () => conn.closed())
 * ```
 */
export function createRealtimeEngine<I = unknown>(options: EngineOptions<I> = {}): RealtimeEngine<I> {
  return new Engine(options)
}
