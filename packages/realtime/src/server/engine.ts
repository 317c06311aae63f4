import type { ChannelKey, MessageOf, PresenceStateOf } from '../channel.js'
import { serializeChannelKey } from '../channel.js'
import type { PresenceMember } from '../client/presence.js'
import { CloseCodes, RealtimeError } from '../errors.js'
import { intOption } from '../options.js'
import type { IncomingFrame, ServerLimits, StreamPosition } from '../protocol.js'
import { clearTimer, setTimer, type TimerHandle } from '../runtime.js'
import { ChannelCore, type CoreHost, type HistoryMessage } from './channel/channel-core.js'
import type { ChannelPorts, ChannelStore } from './channel/ports.js'
import { type ChannelOptions, DEFAULTS, resolveServerOptions, type ServerConfig } from './config.js'
import { MemoryChannelStore } from './memory/memory-channel-store.js'
import { type Authorize, type Authorizer, cachedAuthorizer, defaultUserId } from './session/authorize.js'
import { Session, type SessionHost, type SessionSink } from './session/session.js'

/** Options of {@link createRealtimeEngine} (and of the Node preset's `createNodeServer`). */
export interface EngineOptions<I> extends ChannelOptions<I> {
  /** Per-channel permissions. Default: everything allowed (set it in production). */
  authorize?: Authorize<I>
  /** The user id shown in presence. Default: {@link defaultUserId} of the identity. */
  getUserId?: (identity: I) => string
  /**
   * Where channel state lives. Default: a {@link MemoryChannelStore} with `historySize`,
   * `historyTtlMs` and `maxHistoryBytes`.
   */
  store?: ChannelStore
  /**
   * Total size of the history of every channel (default store only), in characters of message
   * frames. Past it, the history of the longest-idle channels is dropped first. Default 64 MiB.
   */
  maxHistoryBytes?: number
  /** Channels one connection may subscribe to or be present in at once. Default 100. */
  maxChannelsPerConnection?: number
}

/** How the engine talks to one client socket. Hosts implement it. */
export type ConnectionSink = SessionSink

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

/** Options of `getHistory`. */
export interface HistoryOptions {
  /** The most messages returned (the newest). Default: every kept message. */
  limit?: number
}

/** A server of many connections and channels in one process: sessions over channel cores, with timers. */
export interface RealtimeEngine<I> {
  readonly limits: ServerLimits
  /** The options, resolved (frame size cap, grace period, `onError`...). */
  readonly config: ServerConfig
  /**
   * Registers an authenticated connection and sends its `hello`. `resume` is the secret an earlier
   * connection of the same user got: within the presence grace period it keeps that id and presence.
   */
  connect(identity: I, sink: ConnectionSink, options?: { resume?: string | null }): EngineConnection
  /**
   * Server-side publish: delivered to every subscriber, with no authorization check.
   * @throws {InvalidChannelKeyError} for a bad key; {@link InvalidError} when `data` is not JSON;
   *   {@link TooLargeError} when it is too large.
   */
  publish<K extends ChannelKey<any, any>>(channel: K, data: MessageOf<K>): Promise<StreamPosition>
  /**
   * Server-side read: who is present in `channel`, in join order, as its clients see them (members
   * whose connection dropped stay listed for the grace period). For an API route or a page
   * rendered on the server.
   * @throws {InvalidChannelKeyError} for a bad key.
   */
  getPresence<K extends ChannelKey<any, any>>(channel: K): Promise<PresenceMember<PresenceStateOf<K>>[]>
  /**
   * Server-side read: the newest messages `channel` keeps (at most `limit`, default all it keeps:
   * `historySize`), oldest first, as subscribers received them.
   * @throws {InvalidChannelKeyError} for a bad key; {@link InvalidOptionsError} for a bad `limit`.
   */
  getHistory<K extends ChannelKey<any, any>>(
    channel: K,
    options?: HistoryOptions,
  ): Promise<HistoryMessage<MessageOf<K>>[]>
  stats(): EngineStats
  /** Number of connections subscribed to `channel` on this server (for tests and dashboards). */
  subscriberCount(channel: ChannelKey): number
  /**
   * Closes every connection with 1001 (clients reconnect), lets the leaves of their members and
   * the `onLeave` hooks finish, stops timers and closes the store.
   */
  close(): Promise<void>
}

const ALLOW_ALL = Object.freeze({ subscribe: true, publish: true, presence: true })

/** The Node-style host: connections in memory, a {@link ChannelStore}, and timers as the scheduler. */
class Engine<I> implements RealtimeEngine<I>, SessionHost<I>, CoreHost {
  readonly limits: ServerLimits
  readonly config: ServerConfig
  readonly core: ChannelCore<I>
  readonly permissions: Authorizer<I>
  readonly #store: ChannelStore
  readonly #getUserId: (identity: I) => string
  /** Open sessions by connection id. */
  readonly #sessions = new Map<string, Session<I>>()
  /** Open sessions, and dropped ones whose memberships are in their grace period, by resume token. */
  readonly #resumable = new Map<string, Session<I>>()
  /** When a dropped session stops being resumable, by resume token. */
  readonly #graceTimers = new Map<string, TimerHandle>()
  /** The next wake-up of each channel that has one. */
  readonly #wakes = new Map<string, { time: number; timer: TimerHandle }>()

  constructor(options: EngineOptions<I>) {
    const maxChannels = intOption(options.maxChannelsPerConnection ?? DEFAULTS.maxChannels, 'maxChannelsPerConnection')
    const config = resolveServerOptions(options, maxChannels)
    this.config = config
    this.limits = config.limits
    this.#store =
      options.store ??
      new MemoryChannelStore({
        historySize: config.historySize,
        historyTtlMs: config.historyTtlMs,
        ...(options.maxHistoryBytes !== undefined && { maxHistoryBytes: options.maxHistoryBytes }),
      })
    this.core = new ChannelCore(config, options.collections ?? {}, this)
    this.permissions = cachedAuthorizer(options.authorize ?? (() => ALLOW_ALL))
    this.#getUserId = options.getUserId ?? defaultUserId
  }

  connect(identity: I, sink: ConnectionSink, options: { resume?: string | null } = {}): EngineConnection {
    const session = new Session<I>(this, sink, this.#getUserId(identity), identity)
    const previous = options.resume ? this.#resumable.get(options.resume) : undefined
    const resume = this.#store.resume
    const resumed =
      !previous && options.resume && resume
        ? // A store shared by several processes may know a connection another process held. When
          // it cannot tell (its database is away), the client connects as a new connection.
          resume
            .call(this.#store, options.resume, session.userId)
            .catch((error) => {
              if (!(error instanceof RealtimeError)) this.core.config.onError(error)
              return undefined
            })
            .then((found) => session.takeOver(found))
        : session.takeOver(
            previous && {
              cid: previous.id,
              uid: previous.userId,
              channels: previous.presence ?? [],
              session: previous.open ? previous : undefined,
            },
          )
    const start = (taken: boolean) => {
      if (taken && previous) this.#forget(previous)
      this.#sessions.set(session.id, session)
      this.#resumable.set(session.resumeToken, session)
      session.hello(taken)
    }
    if (resumed instanceof Promise) resumed.then(start, (error) => this.#failed(session, error))
    else start(resumed)
    return session
  }

  async getPresence<K extends ChannelKey<any, any>>(channel: K): Promise<PresenceMember<PresenceStateOf<K>>[]> {
    const members = await this.core.members(serializeChannelKey(channel))
    return members.map(({ cid, uid, state }) => ({
      connectionId: cid,
      userId: uid,
      state: state as PresenceStateOf<K>,
    }))
  }

  async getHistory<K extends ChannelKey<any, any>>(
    channel: K,
    options: HistoryOptions = {},
  ): Promise<HistoryMessage<MessageOf<K>>[]> {
    const ch = serializeChannelKey(channel)
    const limit = options.limit === undefined ? undefined : intOption(options.limit, 'limit')
    return (await this.core.history(ch, limit)).messages as HistoryMessage<MessageOf<K>>[]
  }

  async publish<K extends ChannelKey<any, any>>(channel: K, data: MessageOf<K>): Promise<StreamPosition> {
    return this.core.publish(serializeChannelKey(channel), data)
  }

  stats(): EngineStats {
    return { connections: this.#sessions.size, channels: this.#store.activeCount() }
  }

  subscriberCount(channel: ChannelKey): number {
    return this.#store.subscriberCount(serializeChannelKey(channel))
  }

  async close(): Promise<void> {
    for (const session of [...this.#sessions.values()]) {
      session.sink.close(CloseCodes.GoingAway, 'server shutting down')
      session.end()
    }
    // The leaves (or grace releases) of those sessions and their onLeave hooks still need the store.
    await this.core.settled()
    for (const { timer } of this.#wakes.values()) clearTimer(timer)
    this.#wakes.clear()
    for (const session of [...this.#resumable.values()]) this.#forget(session)
    await this.#store.close()
  }

  // CoreHost

  open(ch: string): ChannelPorts {
    return this.#store.open(ch)
  }

  find(ch: string): ChannelPorts | undefined {
    return this.#store.find(ch)
  }

  wakeAt(ports: ChannelPorts, time: number): void {
    const { ch } = ports
    const current = this.#wakes.get(ch)
    if (current && current.time <= time) return
    if (current) clearTimer(current.timer)
    const timer = setTimer(
      () => {
        this.#wakes.delete(ch)
        const found = this.#store.find(ch)
        try {
          const woken = found && this.core.wake(found)
          if (woken instanceof Promise) woken.catch(this.core.config.onError)
        } catch (error) {
          this.core.config.onError(error)
        }
      },
      Math.max(0, time - Date.now()),
    )
    this.#wakes.set(ch, { time, timer })
  }

  // SessionHost

  ended(session: Session<I>): void {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id)
    if (!session.presence?.size) {
      this.#forget(session)
      return
    }
    // Dropped with memberships in their grace period: a reconnect may take them over until it ends.
    const token = session.resumeToken
    this.#graceTimers.set(
      token,
      setTimer(() => this.#forget(session), this.core.config.graceMs),
    )
  }

  /** Drops a session's resume record and grace timer. */
  #forget(session: Session<I>) {
    const token = session.resumeToken
    clearTimer(this.#graceTimers.get(token))
    this.#graceTimers.delete(token)
    if (this.#resumable.get(token) === session) this.#resumable.delete(token)
  }

  #failed(session: Session<I>, error: unknown) {
    this.core.config.onError(error)
    session.sink.close(CloseCodes.GoingAway, 'the server failed to resume the connection')
    session.end()
  }
}

/**
 * Creates the server engine of a process: connections and their sessions, channels in a
 * {@link ChannelStore} (memory by default), timers for grace periods. The Node preset's
 * `createNodeServer` runs it behind `ws`; use it directly to host TanStack Realtime on another
 * WebSocket server.
 *
 * @throws {InvalidOptionsError} when a limit is not a positive integer.
 * @example
 * ```ts
 * const engine = createRealtimeEngine({ authorize: (userId, [name]) => ({ subscribe: true }) })
 * const conn = engine.connect(userId, { send: (frame) => socket.send(frame.text), close: (c, r) => socket.close(c, r) })
 * socket.on('message', (data, isBinary) => conn.receive(isBinary ? data : String(data)))
 * socket.on('close', (code) => conn.closed(code))
 * ```
 */
export function createRealtimeEngine<I = unknown>(options: EngineOptions<I> = {}): RealtimeEngine<I> {
  return new Engine(options)
}
