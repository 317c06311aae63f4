import type { Deferred } from '../deferred.js'
import type { RealtimeError } from '../errors.js'
import type { ServerFrame, StreamPosition } from '../protocol.js'
import { clearTimer, logError, setTimer, type TimerHandle } from '../runtime.js'
import { type Observable, Store } from '../store.js'
import { backoffDelay } from './backoff.js'
import type { ChannelUser, ClientCore, MessageMeta, SubscribeOptions } from './client.js'
import type { Ack } from './requests.js'

/**
 * Where a channel's subscription stands: `idle` (nobody subscribes), `subscribing` (waiting for the
 * server the first time), `live` (every new message is delivered), `resubscribing` (after a drop or a
 * gap, until the server replayed what was missed) or `failed` (the server refused it; see `error`).
 */
export type SubscriptionStatus = 'idle' | 'subscribing' | 'live' | 'resubscribing' | 'failed'

/** A subscription's observable state. The same object until something changes. */
export interface SubscriptionState {
  status: SubscriptionStatus
  /**
   * Why it `failed`; while it retries (`subscribing`, `resubscribing`), the last retryable error
   * (a refused or failed connection, a server error). Cleared when it is live again.
   */
  error: RealtimeError | undefined
}

/** @internal One `subscribe()` call. */
export interface Listener {
  readonly onMessage: (data: any, meta: MessageMeta) => void
  readonly options: SubscribeOptions
  /** How many recent messages it asked for (0: none). */
  readonly rewind: number
  readonly ready: Deferred
}

type MessageFrame = Extract<ServerFrame, { t: 'msg' }>

const idle: SubscriptionState = { status: 'idle', error: undefined }

/**
 * One channel subscribed in one client, shared by every `subscribe()` call on it (reference
 * counted): the server subscription and its state, the stream position, gap detection and resume,
 * rewind, and the callbacks. Its state is an {@link Observable} for framework adapters.
 *
 * @internal
 */
export class ChannelSubscription implements ChannelUser, Observable<SubscriptionState> {
  readonly #store = new Store<SubscriptionState>(idle)
  readonly #listeners = new Set<Listener>()
  #position: StreamPosition | undefined
  /** The current subscribe request (older answers are ignored). */
  #attempt = 0
  /** Retryable failures in a row (the backoff's exponent). */
  #failures = 0
  #retryTimer: TimerHandle | undefined
  #releaseTimer: TimerHandle | undefined
  /** The newest delivered messages, kept for listeners that join later asking for `rewind`. */
  readonly #recent: MessageFrame[] = []
  /** How many to keep: the largest `rewind` any listener asked for. */
  #keep = 0
  /** Messages read while a rewinding subscribe waits for its ack (they come before it). */
  #rewound: MessageFrame[] | undefined

  constructor(
    readonly ch: string,
    readonly core: ClientCore,
  ) {}

  subscribe = (listener: () => void) => this.#store.subscribe(listener)
  getSnapshot = () => this.#store.getSnapshot()

  /** Adds a listener; the first one subscribes (or a listener after a failure tries again). */
  add(listener: Listener): void {
    clearTimer(this.#releaseTimer)
    this.#listeners.add(listener)
    this.#keep = Math.max(this.#keep, listener.rewind)
    const { status } = this.getSnapshot()
    if (status === 'live') {
      if (listener.rewind > 0) for (const message of this.#recent.slice(-listener.rewind)) this.#call(listener, message)
      listener.ready.resolve()
      callSafely(listener.options.onLive, { recovered: false })
    } else if (status === 'idle' || status === 'failed') {
      if (status === 'idle') this.core.attach(this)
      this.#set(this.#position ? 'resubscribing' : 'subscribing')
      if (this.core.wake(this.ch).state === 'open') this.#send()
    }
  }

  /** Removes a listener; the last one unsubscribes, one timer tick later. */
  remove(listener: Listener): void {
    if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return
    // Deferred so an immediate resubscribe (React StrictMode) keeps the server subscription.
    this.#releaseTimer = setTimer(() => this.#release(), 0)
  }

  opened(): void {
    if (this.#listeners.size > 0) this.#send()
  }

  lost(): void {
    this.#attempt++ // the subscribe in flight is sent again on the next connection
    this.#rewound = undefined
    clearTimer(this.#retryTimer)
    if (this.getSnapshot().status === 'live') this.#set('resubscribing')
  }

  refused(error: RealtimeError, retrying: boolean): void {
    this.#fail(error, retrying)
  }

  frame(frame: ServerFrame): void {
    if (frame.t !== 'msg') return
    const rewound = this.#rewound
    if (rewound) {
      // Before the ack of a rewinding subscribe. A message older than the last one read was sent
      // before the server took the subscribe (a previous subscription's): the rewind starts after it.
      if (frame.seq <= (rewound.at(-1)?.seq ?? -1)) rewound.length = 0
      rewound.push(frame)
      return
    }
    const position = this.#position
    if (!position || frame.seq <= position.seq) return // not subscribed yet, or already delivered
    if (frame.seq > position.seq + 1) {
      // A gap: ask the server to replay from the last message we have.
      if (this.getSnapshot().status === 'live') this.#send()
      return
    }
    position.seq = frame.seq
    this.#deliver(frame)
  }

  #send() {
    clearTimer(this.#retryTimer)
    const attempt = ++this.#attempt
    const since = this.#position
    // A resubscribe resumes from the position (never rewinds): each message is delivered once.
    const rewind = since ? 0 : this.#keep
    this.#rewound = rewind > 0 ? [] : undefined
    this.#set(since ? 'resubscribing' : 'subscribing', this.getSnapshot().error)
    // The ack is handled as it is read: messages that follow it in the same read find the new position.
    const onAck = (ack: Ack) => {
      if (attempt !== this.#attempt) return
      const rewound = this.#rewound ?? []
      this.#rewound = undefined
      const reset = since !== undefined && ack.reset === true
      const position = { seq: Math.max(ack.seq ?? 0, rewound.at(-1)?.seq ?? 0), epoch: ack.epoch ?? '' }
      // Within one epoch the position only moves forward (replayed messages may already be past the ack's).
      if (!reset && this.#position?.epoch === position.epoch) position.seq = Math.max(position.seq, this.#position.seq)
      this.#position = position
      this.#failures = 0
      this.#set('live')
      for (const message of rewound) this.#remember(message)
      for (const listener of [...this.#listeners]) {
        if (reset) callSafely(listener.options.onReset)
        if (listener.rewind > 0) for (const message of rewound.slice(-listener.rewind)) this.#call(listener, message)
        listener.ready.resolve()
        callSafely(listener.options.onLive, { recovered: since !== undefined && !reset })
      }
    }
    const link = this.core.linkFor(this.ch)
    link
      .request(
        { t: 'sub', ch: this.ch, ...(since ? { since: { ...since } } : rewind > 0 && { rewind }) },
        undefined,
        onAck,
      )
      .catch((error: RealtimeError) => {
        if (attempt !== this.#attempt) return
        // Dropped with its socket: sent again once the next one is open.
        if (link.state !== 'open' && (error.code === 'offline' || error.code === 'connection_lost')) return
        this.#fail(error, error.retryable)
        if (!error.retryable) return
        // A retryable failure (authorize threw, a timeout): try again with the client's backoff.
        this.#retryTimer = setTimer(
          () => {
            if (this.#listeners.size > 0 && link.state === 'open') this.#send()
          },
          backoffDelay(this.#failures++, this.core.backoff),
        )
      })
  }

  /** Listeners hear the error; the status shows it (`failed` unless it is retried). */
  #fail(error: RealtimeError, retrying: boolean) {
    const { status } = this.getSnapshot()
    this.#set(!retrying ? 'failed' : status === 'failed' || status === 'idle' ? 'subscribing' : status, error)
    for (const listener of [...this.#listeners]) {
      listener.ready.reject(error)
      callSafely(listener.options.onError, error)
    }
  }

  #deliver(message: MessageFrame) {
    this.#remember(message)
    for (const listener of [...this.#listeners]) this.#call(listener, message)
  }

  #remember(message: MessageFrame) {
    if (this.#keep === 0) return
    this.#recent.push(message)
    if (this.#recent.length > this.#keep) this.#recent.shift()
  }

  #call(listener: Listener, message: MessageFrame) {
    try {
      listener.onMessage(message.data, { seq: message.seq, channel: this.ch })
    } catch (error) {
      logError('a subscriber threw', error)
    }
  }

  #release() {
    if (this.#listeners.size > 0) return
    this.#attempt++
    clearTimer(this.#retryTimer)
    this.#rewound = undefined
    this.#set('idle')
    this.core.detach(this, { t: 'unsub', ch: this.ch })
  }

  #set(status: SubscriptionStatus, error?: RealtimeError) {
    const current = this.getSnapshot()
    if (current.status !== status || current.error !== error) this.#store.set({ status, error })
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
