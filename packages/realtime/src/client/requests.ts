import { ConnectionLostError, errorFromCode, OfflineError, type RealtimeError, TimeoutError } from '../errors.js'
import type { ClientFrame, RateLimit, ServerFrame } from '../protocol.js'
import { TokenBucket } from '../rate-limit.js'
import { clearTimer, logError, setTimer, type TimerHandle } from '../runtime.js'

/** A request frame without its id (ids are given when it is sent). */
export type RequestFrame = ClientFrame extends infer F ? (F extends { id: number } ? Omit<F, 'id'> : never) : never

export type Ack = Extract<ServerFrame, { t: 'ack' }>

interface Request {
  readonly frame: RequestFrame
  /** Runs as the ack is read, before any frame after it (a promise would run after the whole read). */
  readonly onAck: ((ack: Ack) => void) | undefined
  readonly resolve: (ack: Ack) => void
  readonly reject: (error: RealtimeError) => void
  /** The id of the last send (0 before the first). */
  id: number
  timer: TimerHandle | undefined
}

/**
 * Requests about this connection's own channel state: their owner (a subscription, a presence
 * membership) sends them again once the next connection is open, so a dropped socket drops them.
 */
const sessionBound = (frame: RequestFrame) => frame.t !== 'pub' && frame.t !== 'write' && frame.t !== 'snap'

/**
 * The requests of one link: ids, the answers they wait for, the queue while the socket is not open,
 * pacing to the server's announced rate limit, timeouts, and what a dropped socket does to each.
 *
 * @internal
 */
export class Requests {
  #nextId = 1
  readonly #inflight = new Map<number, Request>()
  #queue: Request[] = []
  /** Sends a frame while the socket is open (undefined otherwise). */
  #send: ((text: string) => void) | undefined
  /** Paces requests to the server's rate limit (undefined when it announced none). */
  #pacer: TokenBucket | undefined
  #paceTimer: TimerHandle | undefined

  /** Requests sent or waiting to be sent. */
  get size(): number {
    return this.#inflight.size + this.#queue.length
  }

  /**
   * Queues a request; it is sent once the socket is open. The timeout covers the wait. `onAck` runs
   * synchronously when the ack is read, in frame order.
   */
  add(frame: RequestFrame, timeoutMs: number, onAck?: (ack: Ack) => void): Promise<Ack> {
    return new Promise<Ack>((resolve, reject) => {
      const request: Request = { frame, onAck, resolve, reject, id: 0, timer: undefined }
      request.timer = setTimer(
        () => {
          const waiting = this.#inflight.delete(request.id)
          this.#queue = this.#queue.filter((queued) => queued !== request)
          reject(waiting ? new TimeoutError() : request.id > 0 ? new ConnectionLostError() : new OfflineError())
        },
        timeoutMs,
        true,
      )
      this.#queue.push(request)
      this.#flush()
    })
  }

  /** The socket is open: send what waits, paced to `rateLimit`. */
  open(send: (text: string) => void, rateLimit: RateLimit | undefined): void {
    this.#send = send
    this.#pacer = pacerFor(rateLimit)
    this.#flush()
  }

  /** Settles the request an `ack` or `err` answers; false when none waits for it. */
  answer(frame: Extract<ServerFrame, { t: 'ack' | 'err' }>): boolean {
    const request = frame.id === undefined ? undefined : this.#inflight.get(frame.id)
    if (!request) {
      if (frame.t === 'err') logError(`server error: ${frame.code}: ${frame.msg}`)
      return false
    }
    this.#inflight.delete(request.id)
    clearTimer(request.timer)
    if (frame.t === 'ack') {
      request.onAck?.(frame)
      request.resolve(frame)
    } else request.reject(errorFromCode(frame.code, frame.msg, frame.issues))
    return true
  }

  /**
   * The socket dropped. A sent publish or write (it carries an idempotency key) is sent again, with
   * the same key, first thing on the next socket, so the server applies it once; other sent requests
   * fail with {@link ConnectionLostError}. Queued requests wait, except those the next connection's
   * owners send again themselves.
   */
  dropped(): void {
    this.#send = undefined
    clearTimer(this.#paceTimer)
    const again: Request[] = []
    for (const request of this.#inflight.values()) {
      if ('idem' in request.frame && request.frame.idem !== undefined) again.push(request)
      else settle(request, new ConnectionLostError())
    }
    this.#inflight.clear()
    this.#queue = again.concat(
      this.#queue.filter((request) => !sessionBound(request.frame) || settle(request, new OfflineError())),
    )
  }

  /** Fails every request: sent ones with {@link ConnectionLostError}, queued ones with `error`. */
  failAll(error: RealtimeError): void {
    this.dropped()
    for (const request of this.#queue.splice(0)) settle(request, request.id > 0 ? new ConnectionLostError() : error)
  }

  /** Sends what waits, in order, as fast as the server's rate limit allows. */
  #flush() {
    clearTimer(this.#paceTimer)
    while (this.#send && this.#queue.length > 0) {
      const wait = this.#pacer?.waitMs() ?? 0
      if (wait > 0) {
        this.#paceTimer = setTimer(() => this.#flush(), wait)
        return
      }
      this.#pacer?.take()
      const request = this.#queue.shift() as Request
      request.id = this.#nextId++
      this.#inflight.set(request.id, request)
      this.#send(JSON.stringify({ ...request.frame, id: request.id }))
    }
  }
}

/** Fails a request; returns false (for filters). */
function settle(request: Request, error: RealtimeError): false {
  clearTimer(request.timer)
  request.reject(error)
  return false
}

/**
 * The client's side of the server's token bucket, with a margin (half the burst, 90% of the rate)
 * for frames that travel together and arrive closer than they were sent.
 */
function pacerFor(limit: RateLimit | undefined): TokenBucket | undefined {
  if (!limit || !(limit.perSecond > 0) || !(limit.burst >= 1)) return undefined
  return new TokenBucket({ perSecond: limit.perSecond * 0.9, burst: Math.max(1, Math.floor(limit.burst / 2)) })
}
