import { intOption } from '../options.js'
import type { StreamPosition, WireMember } from '../protocol.js'
import { encodeMessageFrame } from '../protocol.js'
import { clearTimer, randomId, setTimer, type TimerHandle } from '../runtime.js'
import { Frame } from './frame.js'

/** What a broker delivers to the engine for one channel. */
export interface BrokerListener {
  /** A message, in sequence order, with its `msg` frame already encoded. */
  message(seq: number, frame: Frame): void
  /** A presence event (`pres` frame) caused by connection `originCid`. */
  presence(frame: Frame, originCid: string): void
  /**
   * The broker lost the channel's continuity (its history was lost, or a gap could not be filled):
   * every subscriber must catch up from its own position, and learn replay or reset.
   */
  reset?(): void
  /** Connection `cid`'s membership was taken over by a connection that resumed on another process. */
  claimed?(cid: string): void
}

/** The memberships a connection that resumed on this process took over from another process. */
export interface TakenOver {
  /** The connection id it keeps. */
  cid: string
  /** Its presence state per channel. */
  presence: Map<string, Record<string, unknown>>
}

/** The answer to {@link Broker.read}. */
export interface ReadResult {
  /** The channel's current position. */
  position: StreamPosition
  /** Messages after the requested position, oldest first (empty when nothing was missed). */
  messages: Array<{ seq: number; frame: Frame }>
  /** True when history no longer covers the requested position: the client must reset. */
  reset: boolean
}

type MaybePromise<T> = T | Promise<T>

/**
 * Where channel state lives: sequence numbers, bounded history and presence members. The engine
 * talks only to this interface, so several server processes can share channels through an
 * external broker (such as Redis) while one process uses {@link MemoryBroker}.
 *
 * Implementations must deliver each channel's messages to listeners in sequence order, and build
 * each frame once per process.
 */
export interface Broker {
  /** Appends a message (its data already JSON-serialized) and delivers it to every listener. */
  publish(channel: string, dataJson: string): MaybePromise<StreamPosition>
  /** Starts delivering a channel's messages and presence events to `listener`. */
  subscribe(channel: string, listener: BrokerListener): void
  unsubscribe(channel: string, listener: BrokerListener): void
  /** The current position, plus the messages after `since` when given and still in history. */
  read(channel: string, since?: StreamPosition): MaybePromise<ReadResult>
  /**
   * Adds or replaces a member and announces it; returns every member, the new one included.
   * `session` is the connection's resume secret (for brokers that let it resume on another process).
   */
  presenceJoin(channel: string, member: WireMember, session?: { resumeToken: string }): MaybePromise<WireMember[]>
  /** Merges `patch` into a member's state and announces the patch. Returns false if not a member. */
  presenceUpdate(channel: string, cid: string, patch: Record<string, unknown>): MaybePromise<boolean>
  /** Removes a member and announces it. */
  presenceLeave(channel: string, cid: string): MaybePromise<void>
  /**
   * Optional (brokers shared by several processes): takes over the memberships of the connection
   * that held resume secret `resumeToken` on another process, for a connection of user `uid` now
   * holding `session.resumeToken`. Undefined when there is none (expired, or another user's).
   */
  takeOver?(resumeToken: string, uid: string, session: { resumeToken: string }): Promise<TakenOver | undefined>
  /**
   * Optional (brokers shared by several processes): runs `task` while no other process runs one for
   * `channel`, so collection writes are applied and broadcast in one order everywhere.
   */
  exclusive?<T>(channel: string, task: () => Promise<T>): Promise<T>
  /** Stops timers and drops listeners. */
  close(): MaybePromise<void>
}

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Messages kept per channel for resume. Default 200. */
  historySize?: number
  /** How long an idle channel (no listener, no member) keeps its history. Default 120 000 ms. */
  historyTtlMs?: number
  /**
   * Total size of every channel's history, in characters of message frames (about their size in
   * memory). Past it, idle channels are dropped first, the longest idle first, then the history of
   * the least recently published channels; their resumers are told to reset. Default 64 MiB.
   */
  maxHistoryBytes?: number
}

interface ChannelLog {
  readonly chJson: string
  readonly epoch: string
  seq: number
  /**
   * Ring buffer of the last `historySize` messages, as text: the broadcast frame (and the bytes a
   * preset cached on it) is not kept, so history holds what {@link MemoryBroker.historyBytes} counts.
   */
  readonly history: Array<{ seq: number; text: string }>
  head: number
  /** Characters held in `history`. */
  bytes: number
  readonly listeners: Set<BrokerListener>
  readonly members: Map<string, WireMember>
  idleSince: number
}

/**
 * The in-process broker: everything in memory, synchronous, bounded. History is a ring buffer per
 * channel, and all of it together stays within `maxHistoryBytes`; channels nobody listens to are
 * dropped after `historyTtlMs` (their epoch then changes, so late resumers are told to reset).
 */
export class MemoryBroker implements Broker {
  readonly #channels = new Map<string, ChannelLog>()
  readonly #historySize: number
  readonly #historyTtlMs: number
  readonly #maxHistoryBytes: number
  #historyBytes = 0
  /**
   * Channels holding history, in the order their history goes when the total passes the budget:
   * idle ones (no listener, no member) by when they became idle or last published, then the others
   * by when they last published.
   */
  readonly #idle = new Map<string, ChannelLog>()
  readonly #active = new Map<string, ChannelLog>()
  #sweepTimer: TimerHandle | undefined

  constructor(options: MemoryBrokerOptions = {}) {
    this.#historySize = intOption(options.historySize ?? 200, 'historySize', 0)
    this.#historyTtlMs = intOption(options.historyTtlMs ?? 120_000, 'historyTtlMs')
    this.#maxHistoryBytes = intOption(options.maxHistoryBytes ?? 64 * 1024 * 1024, 'maxHistoryBytes', 0)
    this.#scheduleSweep()
  }

  /** Characters of message frames kept in history across every channel (at most `maxHistoryBytes`). */
  get historyBytes(): number {
    return this.#historyBytes
  }

  publish(channel: string, dataJson: string): StreamPosition {
    const log = this.#log(channel)
    const seq = ++log.seq
    const frame = new Frame(encodeMessageFrame(log.chJson, seq, dataJson))
    log.idleSince = Date.now()
    if (this.#historySize > 0) {
      const entry = { seq, text: frame.text }
      if (log.history.length < this.#historySize) log.history.push(entry)
      else {
        this.#count(log, -(log.history[log.head]?.text.length ?? 0))
        log.history[log.head] = entry
        log.head = (log.head + 1) % this.#historySize
      }
      this.#count(log, entry.text.length)
      this.#queue(channel, log, true)
      this.#evict(log)
    }
    for (const listener of log.listeners) listener.message(seq, frame)
    return { seq, epoch: log.epoch }
  }

  subscribe(channel: string, listener: BrokerListener): void {
    const log = this.#log(channel)
    log.listeners.add(listener)
    this.#queue(channel, log)
  }

  unsubscribe(channel: string, listener: BrokerListener): void {
    const log = this.#channels.get(channel)
    if (!log) return
    log.listeners.delete(listener)
    log.idleSince = Date.now()
    this.#queue(channel, log)
  }

  read(channel: string, since?: StreamPosition): ReadResult {
    const log = this.#log(channel)
    const position = { seq: log.seq, epoch: log.epoch }
    if (!since) return { position, messages: [], reset: false }
    const oldest = log.seq - log.history.length + 1
    if (since.epoch !== log.epoch || since.seq > log.seq || since.seq + 1 < oldest) {
      return { position, messages: [], reset: true }
    }
    const missed = log.seq - since.seq
    const messages: ReadResult['messages'] = []
    for (let i = log.history.length - missed; i < log.history.length; i++) {
      const entry = log.history[(log.head + i) % log.history.length]
      if (entry) messages.push({ seq: entry.seq, frame: new Frame(entry.text) })
    }
    return { position, messages, reset: false }
  }

  presenceJoin(channel: string, member: WireMember): WireMember[] {
    const log = this.#log(channel)
    log.members.set(member.cid, member)
    this.#queue(channel, log)
    this.#announce(log, { t: 'pres', ch: channel, ev: 'join', m: member }, member.cid)
    return [...log.members.values()]
  }

  presenceUpdate(channel: string, cid: string, patch: Record<string, unknown>): boolean {
    const log = this.#channels.get(channel)
    const member = log?.members.get(cid)
    if (!log || !member) return false
    member.state = { ...member.state, ...patch }
    this.#announce(log, { t: 'pres', ch: channel, ev: 'update', cid, patch }, cid)
    return true
  }

  presenceLeave(channel: string, cid: string): void {
    const log = this.#channels.get(channel)
    if (!log?.members.delete(cid)) return
    log.idleSince = Date.now()
    this.#queue(channel, log)
    this.#announce(log, { t: 'pres', ch: channel, ev: 'leave', cid }, cid)
  }

  close(): void {
    clearTimer(this.#sweepTimer)
    this.#sweepTimer = undefined
    this.#channels.clear()
    this.#idle.clear()
    this.#active.clear()
    this.#historyBytes = 0
  }

  /** Number of channels currently holding state (for stats and tests). */
  get size(): number {
    return this.#channels.size
  }

  #count(log: ChannelLog, chars: number) {
    log.bytes += chars
    this.#historyBytes += chars
  }

  /**
   * Puts a channel holding history in its eviction queue (idle or active, per who uses it now); at
   * the back when `used` (it just published), else where it already stands if its use did not change.
   */
  #queue(channel: string, log: ChannelLog, used = false) {
    if (log.bytes === 0) return
    const [into, from] = isIdle(log) ? [this.#idle, this.#active] : [this.#active, this.#idle]
    from.delete(channel)
    if (used) into.delete(channel)
    else if (into.has(channel)) return
    into.set(channel, log)
  }

  /**
   * Drops history until the total is within budget: idle channels entirely first, then others'
   * history. `current` (publishing now) only loses its history, so its sequence goes on.
   */
  #evict(current: ChannelLog) {
    while (this.#historyBytes > this.#maxHistoryBytes) {
      const [channel, log] = this.#idle.entries().next().value ?? this.#active.entries().next().value ?? []
      if (!channel || !log) return
      if (this.#idle.has(channel) && log !== current) {
        this.#drop(channel, log)
        continue
      }
      this.#idle.delete(channel)
      this.#active.delete(channel)
      this.#count(log, -log.bytes)
      log.history.length = 0
      log.head = 0
    }
  }

  /** Forgets an idle channel: its next use starts a new epoch. */
  #drop(channel: string, log: ChannelLog) {
    this.#channels.delete(channel)
    this.#idle.delete(channel)
    this.#active.delete(channel)
    this.#count(log, -log.bytes)
  }

  #announce(log: ChannelLog, event: object, originCid: string) {
    const frame = new Frame(JSON.stringify(event))
    for (const listener of log.listeners) listener.presence(frame, originCid)
  }

  #log(channel: string): ChannelLog {
    let log = this.#channels.get(channel)
    if (!log) {
      log = {
        chJson: JSON.stringify(channel),
        epoch: randomId(12),
        seq: 0,
        history: [],
        head: 0,
        bytes: 0,
        listeners: new Set(),
        members: new Map(),
        idleSince: Date.now(),
      }
      this.#channels.set(channel, log)
    }
    return log
  }

  #scheduleSweep() {
    this.#sweepTimer = setTimer(
      () => {
        const cutoff = Date.now() - this.#historyTtlMs
        for (const [channel, log] of this.#channels) {
          if (isIdle(log) && log.idleSince < cutoff) this.#drop(channel, log)
        }
        this.#scheduleSweep()
      },
      Math.max(1000, this.#historyTtlMs / 2),
    )
  }
}

function isIdle(log: ChannelLog): boolean {
  return log.listeners.size === 0 && log.members.size === 0
}
