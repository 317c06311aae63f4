import { intOption } from '../../options.js'
import type { StreamPosition } from '../../protocol.js'
import { clearTimer, randomId, setTimer, type TimerHandle } from '../../runtime.js'
import { MemberList } from '../channel/member-list.js'
import type {
  Appended,
  ChannelLog,
  ChannelPorts,
  ChannelStore,
  LoggedMessage,
  LogRead,
  SubscriberSet,
} from '../channel/ports.js'
import type { Subscription } from '../channel/subscription.js'
import { DEFAULTS } from '../config.js'
import { Frame, messageFrame } from '../frame.js'
import type { Session } from '../session/session.js'

/** Options of {@link MemoryChannelStore}. */
export interface MemoryChannelStoreOptions {
  /** Messages kept per channel for resume. Default 200. */
  historySize?: number
  /** How long an idle channel (no subscriber, no member) keeps its history. Default 120 000 ms. */
  historyTtlMs?: number
  /**
   * Total size of every channel's history, in characters of message frames (about their size in
   * memory). Past it, idle channels are dropped first, the longest idle first, then the history of
   * the least recently published channels; their resumers are told to reset. Default 64 MiB.
   */
  maxHistoryBytes?: number
}

/** The messages a channel keeps: a ring buffer of the last `historySize`, and their idempotency keys. */
interface KeptMessages {
  /** The channel key as JSON, for its message frames. */
  readonly chJson: string
  history: HistoryEntry[]
  head: number
  /** Characters held in `history`. */
  bytes: number
  /** Sequence numbers of kept messages by idempotency key. */
  keys: Map<string, number> | undefined
}

/** A kept message: its frame's text (not the frame: what a host cached on it is not kept) and its key. */
interface HistoryEntry {
  readonly seq: number
  readonly text: string
  readonly idem: string | undefined
}

/**
 * The channels of one process, in memory: synchronous and bounded. Each channel's history is a ring
 * buffer, and all of it together stays within `maxHistoryBytes`; channels nobody uses are dropped
 * after `historyTtlMs` (their next use starts a new epoch, so late resumers are told to reset).
 * The default store of the Node server.
 *
 * @example
 * ```ts
 * createNodeServer({ getAuthToken, store: new MemoryChannelStore({ historySize: 1000 }) })
 * ```
 */
export class MemoryChannelStore implements ChannelStore {
  readonly #channels = new Map<string, MemoryChannel>()
  readonly historySize: number
  readonly #historyTtlMs: number
  readonly #maxHistoryBytes: number
  #historyBytes = 0
  /**
   * Channels holding history, in the order their history goes when the total passes the budget:
   * idle ones by when they became idle or last published, then the others by when they last published.
   */
  readonly #idle = new Set<MemoryChannel>()
  readonly #active = new Set<MemoryChannel>()
  #sweepTimer: TimerHandle | undefined
  /** Epochs are this process's random prefix and a counter: unique, and cheap to keep per channel. */
  readonly epochPrefix = randomId(10)
  #epochs = 0

  /** @throws {InvalidOptionsError} when an option is not a non-negative integer (`historyTtlMs` positive). */
  constructor(options: MemoryChannelStoreOptions = {}) {
    this.historySize = intOption(options.historySize ?? DEFAULTS.historySize, 'historySize', 0)
    this.#historyTtlMs = intOption(options.historyTtlMs ?? DEFAULTS.historyTtlMs, 'historyTtlMs')
    this.#maxHistoryBytes = intOption(options.maxHistoryBytes ?? DEFAULTS.maxHistoryBytes, 'maxHistoryBytes', 0)
    this.#scheduleSweep()
  }

  /** Characters of message frames kept in history across every channel (at most `maxHistoryBytes`). */
  get historyBytes(): number {
    return this.#historyBytes
  }

  /** Number of channels holding state. */
  get size(): number {
    return this.#channels.size
  }

  open(ch: string): MemoryChannel {
    let channel = this.#channels.get(ch)
    if (!channel) {
      channel = new MemoryChannel(this, ch, ++this.#epochs)
      this.#channels.set(ch, channel)
    }
    return channel
  }

  find(ch: string): MemoryChannel | undefined {
    return this.#channels.get(ch)
  }

  activeCount(): number {
    let count = 0
    for (const channel of this.#channels.values()) if (!channel.idle) count++
    return count
  }

  subscriberCount(ch: string): number {
    return this.#channels.get(ch)?.size ?? 0
  }

  close(): void {
    clearTimer(this.#sweepTimer)
    this.#sweepTimer = undefined
    this.#channels.clear()
    this.#idle.clear()
    this.#active.clear()
    this.#historyBytes = 0
  }

  /** @internal A channel's history grew or shrank by `chars`. */
  counted(chars: number): void {
    this.#historyBytes += chars
  }

  /**
   * @internal Puts a channel holding history in its eviction queue (idle or active, per who uses it
   * now): at the back when `used` (it just published), else where it stands if its use did not change.
   */
  queue(channel: MemoryChannel, used = false): void {
    if (channel.bytes === 0) return
    const [into, from] = channel.idle ? [this.#idle, this.#active] : [this.#active, this.#idle]
    from.delete(channel)
    if (used) into.delete(channel)
    else if (into.has(channel)) return
    into.add(channel)
  }

  /**
   * @internal Drops history until the total is within budget: idle channels entirely first, then
   * others' history. `current` (publishing now) only loses its history, so its sequence goes on.
   */
  evict(current: MemoryChannel): void {
    while (this.#historyBytes > this.#maxHistoryBytes) {
      const channel: MemoryChannel | undefined = this.#idle.values().next().value ?? this.#active.values().next().value
      if (!channel) return
      if (this.#idle.has(channel) && channel !== current) this.#drop(channel)
      else {
        this.#idle.delete(channel)
        this.#active.delete(channel)
        channel.forget()
      }
    }
  }

  /** Forgets an idle channel: its next use starts a new epoch. */
  #drop(channel: MemoryChannel) {
    this.#channels.delete(channel.ch)
    this.#idle.delete(channel)
    this.#active.delete(channel)
    channel.forget()
  }

  #scheduleSweep() {
    this.#sweepTimer = setTimer(
      () => {
        const cutoff = Date.now() - this.#historyTtlMs
        for (const channel of this.#channels.values()) {
          if (channel.idle && channel.idleSince < cutoff) this.#drop(channel)
        }
        this.#scheduleSweep()
      },
      Math.max(1000, this.#historyTtlMs / 2),
    )
  }
}

/**
 * One channel of a {@link MemoryChannelStore}: its log, members and subscribers in one object, each
 * part created on first use (most channels of a server with per-user channels only ever have one
 * subscriber and no message).
 */
class MemoryChannel implements ChannelPorts, ChannelLog, SubscriberSet {
  #seq = 0
  /** What a channel that published keeps (created by its first message). */
  #kept: KeptMessages | undefined = undefined
  /** One subscription as it is (most channels of a server with per-user channels have one), more in a set. */
  #subscribers: Subscription | Set<Subscription> | undefined = undefined
  #members: MemoryMembers | undefined = undefined
  idleSince = Date.now()

  constructor(
    readonly store: MemoryChannelStore,
    readonly ch: string,
    /** This channel's epoch counter in the store. */
    readonly epochNumber: number,
  ) {}

  get log(): this {
    return this
  }
  get members(): MemoryMembers {
    this.#members ??= new MemoryMembers(this)
    return this.#members
  }
  get subscribers(): this {
    return this
  }

  get epoch(): string {
    return this.store.epochPrefix + this.epochNumber.toString(36)
  }

  /** Characters held in history. */
  get bytes(): number {
    return this.#kept?.bytes ?? 0
  }

  /** Nobody subscribed and no member: its history may go first, and it is dropped after the TTL. */
  get idle(): boolean {
    return this.size === 0 && (this.#members?.size ?? 0) === 0
  }

  // ChannelLog

  position(): StreamPosition {
    return { seq: this.#seq, epoch: this.epoch }
  }

  append(dataJson: string, idem?: string): Appended {
    if (idem !== undefined) {
      const seq = this.#kept?.keys?.get(idem)
      if (seq !== undefined) return { seq, epoch: this.epoch, frame: undefined }
    }
    const seq = ++this.#seq
    this.#kept ??= { chJson: JSON.stringify(this.ch), history: [], head: 0, bytes: 0, keys: undefined }
    const kept = this.#kept
    const frame = messageFrame(kept.chJson, seq, dataJson)
    this.idleSince = Date.now()
    const { historySize } = this.store
    if (historySize > 0) {
      const entry: HistoryEntry = { seq, text: frame.text, idem }
      const { history } = kept
      if (history.length < historySize) history.push(entry)
      else {
        const dropped = history[kept.head] as HistoryEntry
        this.#count(kept, -dropped.text.length)
        if (dropped.idem !== undefined) kept.keys?.delete(dropped.idem)
        history[kept.head] = entry
        kept.head = (kept.head + 1) % historySize
      }
      if (idem !== undefined) {
        kept.keys ??= new Map()
        kept.keys.set(idem, seq)
      }
      this.#count(kept, entry.text.length)
      this.store.queue(this, true)
      this.store.evict(this)
    }
    return { seq, epoch: this.epoch, frame }
  }

  read(after: number, limit = Number.POSITIVE_INFINITY): LogRead {
    const { history = [], head = 0 } = this.#kept ?? {}
    const count = Math.min(this.#seq - after, history.length, limit)
    const messages: LoggedMessage[] = []
    for (let i = history.length - Math.max(count, 0); i < history.length; i++) {
      const entry = history[(head + i) % history.length] as HistoryEntry
      messages.push({ seq: entry.seq, frame: new Frame(entry.text) })
    }
    return { position: this.position(), messages }
  }

  find(idem: string): StreamPosition | undefined {
    const seq = this.#kept?.keys?.get(idem)
    return seq === undefined ? undefined : { seq, epoch: this.epoch }
  }

  /** Drops the history (the sequence and epoch go on). */
  forget(): void {
    const kept = this.#kept
    if (!kept) return
    this.#count(kept, -kept.bytes)
    kept.history = []
    kept.head = 0
    kept.keys = undefined
  }

  #count(kept: KeptMessages, chars: number) {
    kept.bytes += chars
    this.store.counted(chars)
  }

  // SubscriberSet

  /** Subscriptions to this channel. */
  get size(): number {
    const subscribers = this.#subscribers
    return subscribers instanceof Set ? subscribers.size : subscribers ? 1 : 0
  }

  add(subscription: Subscription): void {
    const subscribers = this.#subscribers
    if (subscribers === undefined) this.#subscribers = subscription
    else if (subscribers instanceof Set) subscribers.add(subscription)
    else if (subscribers !== subscription) this.#subscribers = new Set([subscribers, subscription])
    this.store.queue(this)
  }

  remove(subscription: Subscription): void {
    const subscribers = this.#subscribers
    if (subscribers === subscription) this.#subscribers = undefined
    else if (!(subscribers instanceof Set && subscribers.delete(subscription))) return
    this.touched()
  }

  broadcast(seq: number, frame: Frame): void {
    const subscribers = this.#subscribers
    if (subscribers instanceof Set) for (const subscription of subscribers) subscription.deliver(seq, frame)
    else subscribers?.deliver(seq, frame)
  }

  /** Someone joined or left: the channel may have become busy or idle. */
  touched(): void {
    this.idleSince = Date.now()
    this.store.queue(this)
  }
}

/** The members of a {@link MemoryChannel}, telling it when they change (for its idleness). */
class MemoryMembers extends MemberList {
  constructor(readonly channel: MemoryChannel) {
    super()
  }

  override join(session: Session<any>, state: Record<string, unknown>): void {
    super.join(session, state)
    this.channel.touched()
  }

  override leave(session: Session<any>): boolean {
    const left = super.leave(session)
    if (left) this.channel.touched()
    return left
  }

  override expire(now: number) {
    const result = super.expire(now)
    if (result.expired.length > 0) this.channel.touched()
    return result
  }
}
