import type { RateLimit } from './engine.js'

/**
 * A token bucket: `perSecond` tokens are added per second, up to `burst`. Each request takes one;
 * a negative balance means the caller is over its limit (the same rule the engine applies per
 * connection, shared so every preset limits requests alike).
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

  /** Whether the caller kept sending a whole burst past its limit (time to disconnect it). */
  get flooding(): boolean {
    return this.tokens < -this.limit.burst
  }
}
