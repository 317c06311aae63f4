/** Reconnect and retry timing: exponential backoff with jitter, capped. */
export interface ReconnectOptions {
  /** Ceiling of the first delay. Default 250 ms. */
  initialDelayMs?: number
  /** Cap of the ceiling. Default 10 000 ms. */
  maxDelayMs?: number
  /** Growth of the ceiling per attempt (a number >= 1). Default 2. */
  factor?: number
}

/**
 * The one retry policy: reconnects, resubscribes, presence joins and live collections' snapshot
 * reloads all wait this long (the client's `reconnect` option).
 */
export type Backoff = Required<ReconnectOptions>

/** The default: 250 ms doubling up to 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2 }

/**
 * The delay before retry number `attempt` (0 for the first): exponential, capped, with "equal
 * jitter" (half fixed, half random) so clients that failed together spread out.
 */
export function backoffDelay(attempt: number, { initialDelayMs, maxDelayMs, factor }: Backoff): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** attempt)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}
