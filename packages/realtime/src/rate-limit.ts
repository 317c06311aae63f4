import type { RateLimit } from './protocol.js'

/**
 * A token bucket: `perSecond` tokens are added per second, up to `burst`. Each request takes one;
 * a negative balance means the caller is over its limit. Servers apply it per connection; the
 * client paces its requests with the same rule and the limit the server announced.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket({ perSecond: 100, burst: 200 })
 * if (!bucket.take()) answerRateLimited()
 * if (bucket.flooding) closeWith(CloseCodes.RateLimited)
 * ```
 */
export class TokenBucket {
  tokens: number
  refilledAt: number

  constructor(
    readonly limit: RateLimit,
    now = Date.now(),
  ) {
    this.tokens = limit.burst
    this.refilledAt = now
  }

  /** Takes one token; false when the caller is over its limit. */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) * this.limit.perSecond) / 1000)
    this.refilledAt = now
    this.tokens -= 1
    return this.tokens >= 0
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(now = Date.now()): number {
    const tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) * this.limit.perSecond) / 1000)
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / this.limit.perSecond)
  }

  /** Whether the caller kept sending a whole burst past its limit (time to disconnect it). */
  get flooding(): boolean {
    return this.tokens < -this.limit.burst
  }
}
