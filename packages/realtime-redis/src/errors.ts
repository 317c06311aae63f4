import { RealtimeError } from '@tanstack/realtime'

/**
 * Redis did not answer in time: it is unreachable, restarting, paused or overloaded. Retryable: the
 * request may or may not have been applied (a publish retried with an idempotency key is applied
 * once). Clients receive it as a `timeout` error.
 */
export class RedisUnavailableError extends RealtimeError {
  override name = 'RedisUnavailableError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('timeout', message, true)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}
