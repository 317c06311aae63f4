import type { ReconnectOptions } from './link.js'

/** The one retry policy: reconnects, resubscribes and snapshot reloads all wait this long. */
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
