import { OfflineError, type RealtimeError } from '../errors.js'
import {
  CLOSE_HEARTBEAT_TIMEOUT,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_UNAUTHORIZED,
  decodeServerFrame,
  PROTOCOL_VERSION,
  REFUSAL_PARAM,
  type ServerFrame,
  type ServerLimits,
} from '../protocol.js'
import { clearTimer, setTimer, type TimerHandle } from '../runtime.js'
import { type Backoff, backoffDelay } from './backoff.js'
import { closeOutcome } from './close-codes.js'
import { type Ack, type RequestFrame, Requests } from './requests.js'
import type { RealtimeTransport, TransportSocket } from './transport.js'

/**
 * `idle`: not started; `connecting`; `open` (hello received); `backoff`: waiting to retry;
 * `refused`: the server refused it, retried on demand; `closed`: `close()` or a protocol mismatch.
 */
/** Why requests fail after `disconnect()`. */
export const DISCONNECTED = 'Disconnected: call connect() first.'

export type LinkState = 'idle' | 'connecting' | 'open' | 'backoff' | 'refused' | 'closed'

export interface LinkHost {
  /** The link got the server's hello; re-establish channel state on it. */
  opened(link: Link): void
  /** The link lost its socket. */
  lost(link: Link): void
  /** A push frame (msg, pres) arrived. */
  frame(link: Link, frame: ServerFrame): void
  /** The link's state changed. */
  stateChanged(link: Link): void
  /**
   * The server refused the link (its connection, or on per-channel transports its channel):
   * `retrying` when the link tries again by itself after the backoff, false when it stopped.
   */
  refused(link: Link, error: RealtimeError, retrying: boolean): void
}

export interface LinkOptions {
  transport: RealtimeTransport
  channel: string | undefined
  host: LinkHost
  reconnect: Backoff
  requestTimeoutMs: number
  heartbeatMs: number
}

/**
 * One socket's life: connecting, hello, heartbeats, the close code policy and reconnecting with
 * backoff; its requests live in {@link Requests}. The client holds one link (shared transport) or
 * one per channel.
 *
 * @internal
 */
export class Link {
  state: LinkState = 'idle'
  /** Whether this link was ever open (to tell connecting from reconnecting). */
  everOpen = false
  connectionId: string | undefined
  userId: string | undefined
  limits: ServerLimits | undefined
  /** Why the link is refused or closed for good, while it is. */
  error: RealtimeError | undefined
  /** The secret the server gave to resume this connection's identity on reconnect. */
  #resumeToken: string | undefined
  #socket: TransportSocket | undefined
  #attempt = 0
  /** Whether the link already asked for a fresh token after a 4401. */
  #askedAgain = false
  readonly #requests = new Requests()
  #retryTimer: TimerHandle | undefined
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
    return this.#requests.size
  }

  /** Opens the socket unless it is open or opening (also after a refusal: asked again). */
  connect(): void {
    if (this.state === 'open' || this.state === 'connecting') return
    clearTimer(this.#retryTimer)
    this.error = undefined
    this.#askedAgain = false
    this.#open()
  }

  /** Reconnects now if waiting for a retry (the network came back, the page became visible). */
  retryNow(): void {
    if (this.state === 'backoff') this.connect()
    else if (this.state === 'open') this.#ping()
  }

  /**
   * Closes the socket for good: sent requests fail with `ConnectionLostError`, queued ones with
   * {@link OfflineError}.
   */
  close(): void {
    clearTimer(this.#retryTimer)
    this.#stopTimers()
    const socket = this.#socket
    this.#socket = undefined
    socket?.close(CLOSE_NORMAL, 'client disconnect')
    this.#requests.failAll(new OfflineError(DISCONNECTED))
    if (this.state === 'open') this.options.host.lost(this)
    this.#setState('closed')
  }

  /**
   * Sends a request and resolves with its ack. Requests made while the socket is not open wait for
   * it (a refused link is asked again); the timeout covers the wait. `onAck` runs synchronously when
   * the ack is read, in frame order.
   */
  request(frame: RequestFrame, timeoutMs = this.options.requestTimeoutMs, onAck?: (ack: Ack) => void): Promise<Ack> {
    if (this.state === 'closed') {
      return Promise.reject(this.error ?? new OfflineError(DISCONNECTED))
    }
    const answer = this.#requests.add(frame, timeoutMs, onAck)
    if (this.state === 'idle' || this.state === 'refused') this.connect()
    return answer
  }

  #open() {
    this.#setState('connecting')
    // refusal=close: a refused upgrade is closed with 4401/4403/4404/4500, which browsers can read.
    const params: Record<string, string> = { v: String(PROTOCOL_VERSION), [REFUSAL_PARAM]: 'close' }
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
    clearTimer(this.#connectTimer)
    this.#connectTimer = setTimer(
      () => this.#abandon(CLOSE_HEARTBEAT_TIMEOUT, 'connect timeout'),
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
    if (frame.t === 'hello') {
      clearTimer(this.#connectTimer)
      this.#connectTimer = undefined
      this.connectionId = frame.cid
      this.#resumeToken = frame.resume
      this.userId = frame.uid
      this.limits = frame.limits
      this.#attempt = 0
      this.#askedAgain = false
      this.everOpen = true
      this.#startHeartbeat()
      this.#setState('open')
      this.options.host.opened(this)
      const socket = this.#socket
      this.#requests.open((text) => socket?.send(text), frame.limits.rateLimit)
    } else if (frame.t === 'ack' || frame.t === 'err') this.#requests.answer(frame)
    else if (frame.t !== 'pong') this.options.host.frame(this, frame)
  }

  #closed(code: number, reason: string) {
    this.#socket = undefined
    this.#stopTimers()
    const wasOpen = this.state === 'open'
    this.#requests.dropped()
    if (wasOpen) this.options.host.lost(this)
    if (code === CLOSE_UNAUTHORIZED && !this.#askedAgain) {
      // The token may have expired since getAuthToken was last asked: ask again, once, at once.
      this.#askedAgain = true
      this.#open()
      return
    }
    const outcome = closeOutcome(code, reason, this.channel)
    if (outcome) {
      this.#requests.failAll(outcome.error)
      if (outcome.final) this.error = outcome.error
      // Users hear it first, so whoever watches the status sees them failed when it changes.
      this.options.host.refused(this, outcome.error, !outcome.final)
      if (outcome.final) return this.#setState(code === CLOSE_PROTOCOL_ERROR ? 'closed' : 'refused')
    }
    this.#setState('backoff')
    this.#retryTimer = setTimer(() => this.#open(), backoffDelay(this.#attempt++, this.options.reconnect))
  }

  #startHeartbeat() {
    clearTimer(this.#heartbeatTimer)
    this.#heardSinceTick = true
    this.#pinged = false
    const tick = () => {
      if (this.#heardSinceTick) {
        this.#heardSinceTick = false
        this.#pinged = false
      } else if (this.#pinged) {
        // Nothing heard for two periods: the socket is dead even if the platform has not noticed.
        this.#abandon(CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout')
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

  #stopTimers() {
    clearTimer(this.#connectTimer)
    this.#connectTimer = undefined
    clearTimer(this.#heartbeatTimer)
  }

  #setState(state: LinkState) {
    if (this.state === state) return
    this.state = state
    this.options.host.stateChanged(this)
  }
}
