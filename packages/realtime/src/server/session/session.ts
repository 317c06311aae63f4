import { type Deferred, deferred } from '../../deferred.js'
import { CloseCodes, RealtimeError, type RealtimeErrorCode, ValidationError } from '../../errors.js'
import { decodeClientFrame, type IncomingFrame } from '../../protocol.js'
import { TokenBucket } from '../../rate-limit.js'
import { randomId } from '../../runtime.js'
import type { SchemaIssue } from '../../schema.js'
import type { ChannelCore, ChannelRequest } from '../channel/channel-core.js'
import type { MaybePromise } from '../channel/ports.js'
import type { Subscription } from '../channel/subscription.js'
import { errorFrame, type Frame, helloFrame, PONG } from '../frame.js'
import type { Authorizer } from './authorize.js'

/** How a session reaches its client's socket. Hosts implement it. */
export interface SessionSink {
  send(frame: Frame): void
  close(code: number, reason: string): void
}

/** What a session needs from its host. */
export interface SessionHost<I> {
  readonly core: ChannelCore<I>
  /** What a session may do on a channel (Node: `authorize`, cached; Workers: what the Worker granted). */
  readonly permissions: Authorizer<I>
  /** Why `session` may not use channel `ch` (a Workers socket serves one channel); undefined when it may. */
  refuse?(session: Session<I>, ch: string): string | undefined
  /** The session ended (the core has let go of its channels). */
  ended(session: Session<I>): void
}

/**
 * A connection a reconnecting client may take over: still open (a socket the client gave up on),
 * or dropped with memberships in their grace period. Found by the host from the `resume` secret.
 */
export interface ResumeCandidate<I> {
  cid: string
  uid: string
  /** Channels it is present in. */
  channels: Iterable<string>
  /** Its session, when still open (it is closed with 4009). */
  session?: Session<I> | undefined
}

/** A frame in progress and the frames waiting behind it. */
interface Queue {
  frames: IncomingFrame[]
  chars: number
  /** Resolves when the queue is empty again (or the session ended). */
  done: Deferred
}

const PING = '{"t":"ping"}'
/** Bounds on the frames one connection may have queued behind a request still in progress. */
const MAX_BACKLOG_FRAMES = 1024
const MAX_BACKLOG_CHARS = 8 * 1024 * 1024

/**
 * One client connection, written once for every host: frame admission (size, decode, ping), the
 * rate limit, one request at a time in arrival order with a bounded backlog (so answers come in
 * request order even when a request waits on `authorize`, `load` or `write`), exactly one answer
 * per request (`internal` when handling threw), the channel-count limit, and the resume token.
 * What a request does to a channel is the {@link ChannelCore}'s.
 */
export class Session<I = unknown> {
  open = true
  /**
   * Subscriptions: none, one (most connections of a server with per-user channels), or a map by
   * channel once there are more.
   */
  #subs: Subscription | Map<string, Subscription> | undefined = undefined
  /**
   * Channels this session is present in. Kept after the session dropped while its memberships are
   * in their grace period: a resume takes them over.
   */
  presence: Set<string> | undefined = undefined
  /** The host authorizer's own state for this session (a cache of `authorize` answers, a grant). */
  grants: unknown = undefined
  readonly #bucket: TokenBucket | undefined
  #queue: Queue | undefined = undefined
  /** The id of the request being handled until it is answered. */
  #request: number | undefined = undefined

  /**
   * @param host - the server this session belongs to
   * @param sink - its client's socket
   * @param userId - the user id shown in presence
   * @param identity - what authentication returned (given to `authorize` and collections)
   * @param id - the connection id (a takeover replaces it with the earlier connection's)
   * @param resumeToken - the secret a reconnecting client presents to take this connection over
   */
  constructor(
    readonly host: SessionHost<I>,
    readonly sink: SessionSink,
    readonly userId: string,
    readonly identity: I,
    public id: string = randomId(),
    readonly resumeToken: string = randomId(24),
  ) {
    const { rateLimit } = host.core.config
    this.#bucket = rateLimit ? new TokenBucket(rateLimit) : undefined
  }

  /** Sends `hello`, the connection's first frame. */
  hello(resumed: boolean): void {
    const { limitsJson } = this.host.core.config
    this.send(helloFrame(this.id, this.userId, resumed, this.resumeToken, limitsJson))
  }

  /**
   * A frame from the client: its text, or the bytes of a binary frame (refused: the protocol is
   * text only). Returns a promise when the frame waits behind, or is, a request still in progress;
   * it resolves once every queued frame is handled.
   */
  receive(input: IncomingFrame): Promise<void> | undefined {
    if (!this.open) return
    const queue = this.#queue
    if (!queue) {
      const pending = this.#run(input)
      if (!pending) return
      const started: Queue = { frames: [], chars: 0, done: deferred() }
      this.#queue = started
      pending.finally(() => this.#drain(started))
      return started.done.promise
    }
    // A heartbeat is answered even while a slow request (authorize, load, write) is in progress.
    if (input === PING) this.send(PONG)
    else {
      queue.frames.push(input)
      queue.chars += frameLength(input)
      if (queue.frames.length > MAX_BACKLOG_FRAMES || queue.chars > MAX_BACKLOG_CHARS) {
        this.#close(CloseCodes.RateLimited, 'too many requests waiting')
      }
    }
    return queue.done.promise
  }

  /**
   * The socket closed, with the close code the client sent when known. A client that said goodbye
   * (1000 from `disconnect()`, 1001 when a page unloads) leaves presence at once; any other end
   * keeps its presence for the grace period, so a quick reconnect does not flicker.
   */
  closed(code?: number): void {
    this.end(code === CloseCodes.Normal || code === CloseCodes.GoingAway)
  }

  /** Ends the session: the core lets go of its subscriptions and (now or after the grace period) its presence. */
  end(goodbye = false): void {
    if (!this.open) return
    this.open = false
    this.#queue?.done.resolve()
    this.#queue = undefined
    this.host.core.dropped(this, goodbye)
    this.host.ended(this)
  }

  /**
   * Takes over the connection a client resumes (same user only): this session gets its id and its
   * memberships, and an open one is closed with 4009. Resolves with whether it took over; send
   * {@link hello} after.
   */
  takeOver(candidate: ResumeCandidate<I> | undefined): MaybePromise<boolean> {
    if (!candidate || candidate.uid !== this.userId) return false
    const inherited = this.host.core.inherit(this, candidate.cid, candidate.channels)
    const replace = () => {
      candidate.session?.replaced()
      return true
    }
    return inherited instanceof Promise ? inherited.then(replace) : replace()
  }

  /** A newer connection took this one over (its memberships moved there): closed with 4009. */
  replaced(): void {
    this.presence = undefined
    this.sink.close(CloseCodes.Replaced, 'replaced by a newer connection')
    this.end()
  }

  send(frame: Frame): void {
    if (this.open) this.sink.send(frame)
  }

  /** Sends the answer to request `id` (an `ack` or `err`), marking the request answered. */
  answer(id: number, frame: Frame): void {
    if (this.#request === id) this.#request = undefined
    this.send(frame)
  }

  /**
   * Answers request `id` (or, without one, the frame that had none) with an `err`, with the schema
   * issues of an `invalid` payload.
   */
  error(id: number | undefined, code: RealtimeErrorCode, msg: string, issues?: SchemaIssue[]): void {
    if (id === undefined) this.send(errorFrame(id, code, msg, issues))
    else this.answer(id, errorFrame(id, code, msg, issues))
  }

  /** The subscription to channel `ch`, if any. */
  subscription(ch: string): Subscription | undefined {
    const subs = this.#subs
    if (subs instanceof Map) return subs.get(ch)
    return subs?.ch === ch ? subs : undefined
  }

  /** Records a subscription (replacing any earlier one to its channel). */
  subscribe(subscription: Subscription): void {
    const subs = this.#subs
    if (subs === undefined || (!(subs instanceof Map) && subs.ch === subscription.ch)) this.#subs = subscription
    else if (subs instanceof Map) subs.set(subscription.ch, subscription)
    else
      this.#subs = new Map([
        [subs.ch, subs],
        [subscription.ch, subscription],
      ])
  }

  /** Forgets the subscription to channel `ch`; returns it. */
  unsubscribe(ch: string): Subscription | undefined {
    const found = this.subscription(ch)
    if (!found) return
    if (this.#subs instanceof Map) this.#subs.delete(ch)
    else this.#subs = undefined
    return found
  }

  /** Every subscription. */
  subscriptions(): Subscription[] {
    const subs = this.#subs
    if (subs instanceof Map) return [...subs.values()]
    return subs ? [subs] : []
  }

  /** Records that the session is present in channel `ch`. */
  enter(ch: string): void {
    if (!this.presence) this.presence = new Set()
    this.presence.add(ch)
  }

  /** Whether the session may use channel `ch` within the channel-count limit. */
  hasRoomFor(ch: string): boolean {
    const { presence } = this
    if (this.subscription(ch) || presence?.has(ch)) return true
    const subs = this.#subs
    let count = subs instanceof Map ? subs.size : subs ? 1 : 0
    if (presence) for (const present of presence) if (!this.subscription(present)) count++
    return count < this.host.core.config.limits.maxChannels
  }

  #close(code: number, reason: string) {
    this.sink.close(code, reason)
    this.end()
  }

  #drain(queue: Queue): void {
    // Runs the waiting frames one at a time, until one is in progress again or none is left.
    while (this.#queue === queue) {
      const next = queue.frames.shift()
      if (next === undefined) {
        this.#queue = undefined
        queue.done.resolve()
        return
      }
      queue.chars -= frameLength(next)
      const pending = this.#run(next)
      if (pending) {
        pending.finally(() => this.#drain(queue))
        return
      }
    }
  }

  /**
   * Handles one frame and makes sure a request gets exactly one answer: whatever throws or rejects
   * while handling it (a port, a bug) is reported and answered with `internal`.
   */
  #run(input: IncomingFrame): Promise<unknown> | undefined {
    let frame: ChannelRequest | undefined
    try {
      frame = this.#admit(input)
      if (!frame) return undefined
      this.#request = frame.id
      const result = this.#dispatch(frame)
      if (result instanceof Promise) {
        const { id, t } = frame
        return result.then(
          () => this.#handled(id, t),
          (error) => this.#crashed(id, error),
        )
      }
      this.#handled(frame.id, frame.t)
    } catch (error) {
      this.#crashed(frame?.id, error)
    }
    return undefined
  }

  /**
   * Applies the limits every frame is subject to, and decodes it. Returns the request to handle, or
   * nothing when the frame was answered here (a ping, an invalid or rate-limited frame) or closed
   * the connection.
   */
  #admit(input: IncomingFrame): ChannelRequest | undefined {
    const { config } = this.host.core
    if (frameLength(input) > config.maxFrameChars) {
      this.send(config.frameTooLarge)
      this.#close(CloseCodes.MessageTooBig, 'frame too large')
      return
    }
    const frame = decodeClientFrame(input)
    if (!('error' in frame) && frame.t === 'ping') {
      this.send(PONG)
      return
    }
    // Every other frame costs a token, malformed ones included.
    const bucket = this.#bucket
    if (bucket && !bucket.take()) {
      if (bucket.flooding) this.#close(CloseCodes.RateLimited, 'rate limit exceeded')
      else this.error(frame.id, 'rate_limited', 'Too many requests: slow down and retry.')
      return
    }
    if ('error' in frame) {
      this.error(frame.id, 'invalid', frame.error)
      return
    }
    return frame
  }

  #dispatch(frame: ChannelRequest): MaybePromise<void> {
    const { core } = this.host
    const invalid = core.invalid(frame.ch) ?? this.host.refuse?.(this, frame.ch)
    if (invalid !== undefined) return this.error(frame.id, 'invalid', invalid)
    return core.handle(this, frame)
  }

  /** A request's handler finished: one that did not answer (a bug) is answered with `internal`. */
  #handled(id: number, t: string) {
    if (this.#request === id && this.open) this.#crashed(id, new Error(`The server did not answer a "${t}".`))
  }

  /**
   * A request failed: a `RealtimeError` (such as a shared store's retryable `timeout` when its
   * database does not answer) is answered with its own code; anything else is reported and answered
   * with `internal`.
   */
  #crashed(id: number | undefined, error: unknown) {
    const typed = error instanceof RealtimeError
    if (!typed) this.host.core.config.onError(error)
    if (id !== undefined && this.#request === id) {
      if (typed)
        this.error(id, error.code, error.message, error instanceof ValidationError ? [...error.issues] : undefined)
      else this.error(id, 'internal', 'The server failed to handle this request.')
    }
  }
}

function frameLength(frame: IncomingFrame): number {
  return typeof frame === 'string' ? frame.length : frame.byteLength
}
