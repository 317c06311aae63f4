import {
  CloseCodes,
  errorFromCode,
  ForbiddenError,
  OfflineError,
  type RealtimeError,
  ServerError,
  TimeoutError,
  UnauthorizedError,
} from '../errors.js'
import {
  type ClientFrame,
  decodeServerFrame,
  PROTOCOL_VERSION,
  type RateLimit,
  type ServerFrame,
  type ServerLimits,
} from '../protocol.js'
import { TokenBucket } from '../rate-limit.js'
import { clearTimer, logError, setTimer, type TimerHandle } from '../runtime.js'
import { backoffDelay } from './backoff.js'
import type { RealtimeTransport, TransportSocket } from './transport.js'

/** Reconnect timing: exponential backoff with jitter, capped. */
export interface ReconnectOptions {
  /** First delay. Default 250 ms. */
  initialDelayMs?: number
  /** Cap. Default 10 000 ms. */
  maxDelayMs?: number
  /** Growth per attempt. Default 2. */
  factor?: number
}

/** A request frame without its id (the link assigns ids). */
export type RequestFrame = ClientFrame extends infer F ? (F extends { id: number } ? Omit<F, 'id'> : never) : never

export type Ack = Extract<ServerFrame, { t: 'ack' }>

interface Request {
  readonly frame: RequestFrame
  /** Runs as the ack is read, before any frame after it (a promise would run after the whole read). */
  readonly onAck: ((ack: Ack) => void) | undefined
  readonly resolve: (ack: Ack) => void
  readonly reject: (error: RealtimeError) => void
  id: number
  timer: TimerHandle | undefined
}

export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed'

export interface LinkHost {
  /** The link got the server's hello; re-establish channel state on it. */
  opened(link: Link): void
  /** The link lost its socket. */
  lost(link: Link): void
  /** A push frame (msg, pres) arrived. */
  frame(link: Link, frame: ServerFrame): void
  /** The link's state changed. */
  stateChanged(link: Link): void
  /** A per-channel server refused this link's channel (HTTP 403 at the upgrade). */
  refused(link: Link, error: RealtimeError): void
  /** The connection was refused (shared: HTTP 401 or 403; per channel: 500); it keeps retrying. */
  rejected(link: Link, error: RealtimeError): void
}

export interface LinkOptions {
  transport: RealtimeTransport
  channel: string | undefined
  host: LinkHost
  reconnect: Required<ReconnectOptions>
  requestTimeoutMs: number
  heartbeatMs: number
}

/**
 * One socket's life: connecting, hello, requests and their acks, heartbeats, and reconnecting with
 * backoff. The client holds one link (shared transport) or one per channel.
 *
 * @internal
 */
export class Link {
  state: LinkState = 'idle'
  /** Whether this link was ever open (to tell connecting from reconnecting). */
  everOpen = false
  connectionId: string | undefined
  /** The secret the server gave to resume this connection's identity on reconnect. */
  #resumeToken: string | undefined
  userId: string | undefined
  limits: ServerLimits | undefined
  /** Why the link is closed for good (protocol error), if it is. */
  error: RealtimeError | undefined
  #socket: TransportSocket | undefined
  #attempt = 0
  #nextId = 1
  readonly #inflight = new Map<number, Request>()
  readonly #queue: Request[] = []
  #retryTimer: TimerHandle | undefined
  /** Paces requests to the server's rate limit (undefined when it announced none). */
  #pacer: TokenBucket | undefined
  #paceTimer: TimerHandle | undefined
  #connectTimer: TimerHandle | undefined
  #heartbeatTimer: TimerHandle | undefined
  #heardSinceTick = false
  #pinged = false

  constructor(readonly options: LinkOptions) {}

  get channel(): string | undefined {
    return this.options.channel
  }

  /** Requests sent or waiting to be sent. */
  get pending(): number {
    return this.#inflight.size + this.#queue.length
  }

  /** Opens the socket unless it is open or opening. */
  connect(): void {
    if (this.state === 'open' || this.state === 'connecting') return
    clearTimer(this.#retryTimer)
    this.error = undefined
    this.#open()
  }

  /** Reconnects now if waiting for a retry (the network came back, the page became visible). */
  retryNow(): void {
    if (this.state === 'waiting') this.connect()
    else if (this.state === 'open') this.#ping()
  }

  /** Closes the socket for good: pending requests fail with {@link OfflineError}. */
  close(): void {
    clearTimer(this.#retryTimer)
    this.#clearConnectTimer()
    clearTimer(this.#paceTimer)
    this.#stopHeartbeat()
    const socket = this.#socket
    this.#socket = undefined
    socket?.close(CloseCodes.Normal, 'client disconnect')
    this.#failAll(new OfflineError('Disconnected: call connect() before retrying.'), true)
    if (this.state === 'open') this.options.host.lost(this)
    this.#setState('closed')
  }

  /**
   * Sends a request and resolves with its ack. Requests made while the socket is not open wait for
   * it; the timeout covers the wait. `onAck` runs synchronously when the ack is read, in frame order.
   */
  request(frame: RequestFrame, timeoutMs = this.options.requestTimeoutMs, onAck?: (ack: Ack) => void): Promise<Ack> {
    return new Promise<Ack>((resolve, reject) => {
      if (this.state === 'closed') {
        reject(this.error ?? new OfflineError('Disconnected: call connect() before retrying.'))
        return
      }
      const request: Request = { frame, onAck, resolve, reject, id: 0, timer: undefined }
      request.timer = setTimer(
        () => {
          const sent = this.#inflight.delete(request.id)
          const queued = this.#queue.indexOf(request)
          if (queued >= 0) this.#queue.splice(queued, 1)
          reject(
            sent
              ? new TimeoutError()
              : new OfflineError('Could not reach the server in time: the request was not sent.'),
          )
        },
        timeoutMs,
        true,
      )
      this.#queue.push(request)
      if (this.state === 'open') this.#flush()
      else if (this.state === 'idle') this.connect()
    })
  }

  /** Sends a frame that needs no answer (ignored while not open). */
  notify(frame: ClientFrame): void {
    if (this.state === 'open') this.#socket?.send(JSON.stringify(frame))
  }

  /**
   * Sends what waits, in order, as fast as the server's announced rate limit allows: requests queued
   * during an outage drain at that pace instead of tripping the limit in one burst.
   */
  #flush() {
    clearTimer(this.#paceTimer)
    while (this.state === 'open' && this.#queue.length > 0) {
      const wait = this.#pacer?.waitMs() ?? 0
      if (wait > 0) {
        this.#paceTimer = setTimer(() => this.#flush(), wait)
        return
      }
      this.#pacer?.take()
      this.#send(this.#queue.shift() as Request)
    }
  }

  #send(request: Request) {
    request.id = this.#nextId++
    this.#inflight.set(request.id, request)
    this.#socket?.send(JSON.stringify({ ...request.frame, id: request.id }))
  }

  #open() {
    this.#setState('connecting')
    const params: Record<string, string> = { v: String(PROTOCOL_VERSION) }
    if (this.#resumeToken) params.resume = this.#resumeToken
    let socket: TransportSocket | undefined
    const current = () => socket !== undefined && socket === this.#socket
    socket = this.options.transport.open({
      ...(this.channel !== undefined && { channel: this.channel }),
      params,
      handlers: {
        onDialing: () => {
          if (current()) this.#startConnectTimer()
        },
        onOpen: () => {
          if (!current()) return
          this.#heardSinceTick = true
          if (this.#connectTimer === undefined) this.#startConnectTimer() // a transport that never said onDialing
        },
        onMessage: (text) => {
          if (current()) this.#receive(text)
        },
        onClose: (code, reason) => {
          if (current()) this.#closed(code, reason)
        },
      },
    })
    this.#socket = socket
  }

  /** A socket that neither opens nor says hello in time is abandoned and retried. */
  #startConnectTimer() {
    this.#clearConnectTimer()
    this.#connectTimer = setTimer(
      () => this.#abandon(CloseCodes.HeartbeatTimeout, 'connect timeout'),
      this.options.requestTimeoutMs,
    )
  }

  /** Gives up on the current socket without waiting for the platform to notice it is dead. */
  #abandon(code: number, reason: string) {
    const socket = this.#socket
    if (!socket) return
    socket.close(code, reason)
    this.#closed(code, reason)
  }

  #receive(text: string) {
    this.#heardSinceTick = true
    const frame = decodeServerFrame(text)
    if (!frame) return
    switch (frame.t) {
      case 'hello':
        this.#clearConnectTimer()
        this.connectionId = frame.cid
        this.#resumeToken = frame.resume
        this.userId = frame.uid
        this.limits = frame.limits
        this.#attempt = 0
        this.everOpen = true
        this.#startHeartbeat()
        this.#setState('open')
        this.options.host.opened(this)
        this.#pacer = pacerFor(frame.limits.rateLimit)
        this.#flush()
        return
      case 'ack':
      case 'err': {
        const request = frame.id === undefined ? undefined : this.#inflight.get(frame.id)
        if (!request) {
          if (frame.t === 'err') logError(`server error: ${frame.code}: ${frame.msg}`)
          return
        }
        this.#inflight.delete(request.id)
        clearTimer(request.timer)
        if (frame.t === 'ack') {
          request.onAck?.(frame)
          request.resolve(frame)
        } else request.reject(errorFromCode(frame.code, frame.msg))
        return
      }
      case 'pong':
        return
      default:
        this.options.host.frame(this, frame)
    }
  }

  #closed(code: number, reason: string) {
    this.#socket = undefined
    this.#clearConnectTimer()
    clearTimer(this.#paceTimer)
    this.#stopHeartbeat()
    const wasOpen = this.state === 'open'
    this.#failAll(
      new OfflineError(
        'The connection was lost before the server answered; the request may or may not have been applied.',
      ),
      false,
    )
    if (wasOpen) this.options.host.lost(this)
    if (code === CloseCodes.ProtocolError) {
      this.error = errorFromCode('invalid', `The server refused this client's protocol: ${reason}`)
      this.#failAll(this.error, true)
      this.#setState('closed')
      return
    }
    if (this.channel === undefined && (code === 4401 || code === 4403)) {
      // The shared connection was refused (no identity, or an Origin the server does not allow):
      // what waits fails now with the reason; reconnecting goes on, asking getAuthToken again.
      const error =
        code === 4401 ? new UnauthorizedError() : new ForbiddenError('The server refused the connection (HTTP 403).')
      this.#failAll(error, true)
      this.options.host.rejected(this, error)
    }
    if (this.channel !== undefined && (code === 4403 || code === 4500)) {
      // A per-channel upgrade refused with 403 or 500: what waits on this channel fails now. A denied
      // channel is asked again on demand (the next request), a server error after the usual backoff.
      const error = code === 4403 ? new ForbiddenError(`Not allowed on ${this.channel}.`) : new ServerError()
      this.#failAll(error, true)
      if (code === 4403) {
        this.#setState('idle')
        this.options.host.refused(this, error)
        return
      }
      this.options.host.rejected(this, error) // subscribers hear why they are not live yet
    }
    const delay = backoffDelay(this.#attempt++, this.options.reconnect)
    this.#setState('waiting')
    this.#retryTimer = setTimer(() => this.#open(), delay)
  }

  /** Sent requests fail; queued requests wait for the next socket unless `queuedToo`. */
  #failAll(error: RealtimeError, queuedToo: boolean) {
    const failed = [...this.#inflight.values(), ...(queuedToo ? this.#queue.splice(0) : [])]
    this.#inflight.clear()
    for (const request of failed) {
      clearTimer(request.timer)
      request.reject(error)
    }
  }

  #startHeartbeat() {
    this.#stopHeartbeat()
    this.#heardSinceTick = true
    this.#pinged = false
    const tick = () => {
      if (this.#heardSinceTick) {
        this.#heardSinceTick = false
        this.#pinged = false
      } else if (this.#pinged) {
        // Nothing heard for two periods: the socket is dead even if the platform has not noticed.
        this.#abandon(CloseCodes.HeartbeatTimeout, 'heartbeat timeout')
        return
      } else this.#ping()
      this.#heartbeatTimer = setTimer(tick, this.options.heartbeatMs)
    }
    this.#heartbeatTimer = setTimer(tick, this.options.heartbeatMs)
  }

  #ping() {
    this.#pinged = true
    this.#socket?.send('{"t":"ping"}')
  }

  #clearConnectTimer() {
    clearTimer(this.#connectTimer)
    this.#connectTimer = undefined
  }

  #stopHeartbeat() {
    clearTimer(this.#heartbeatTimer)
    this.#heartbeatTimer = undefined
  }

  #setState(state: LinkState) {
    if (this.state === state) return
    this.state = state
    this.options.host.stateChanged(this)
  }
}

/**
 * The client's side of the server's token bucket, with a margin (half the burst, 90% of the rate)
 * for frames that travel together and arrive closer than they were sent.
 */
function pacerFor(limit: RateLimit | undefined): TokenBucket | undefined {
  if (!limit || !(limit.perSecond > 0) || !(limit.burst >= 1)) return undefined
  return new TokenBucket({ perSecond: limit.perSecond * 0.9, burst: Math.max(1, Math.floor(limit.burst / 2)) })
}
