import { InvalidOptionsError, type ServerLimits } from '@tanstack/realtime'
import type { CollectionSource } from '@tanstack/realtime/server'
import { intOption, maxFrameSize, type RateLimit } from '@tanstack/realtime/server'

/**
 * Options of a {@link RealtimeChannel} class: the same limits, history and presence rules as the
 * Node preset's server, applied per channel. Set them by overriding `options` in a subclass.
 */
export interface RealtimeChannelOptions {
  /** Messages kept in Durable Object storage for resume. Default 200. */
  historySize?: number
  /** How long a channel nobody is connected to keeps its history and sequence. Default 120 000 ms. */
  historyTtlMs?: number
  /** Largest message `data`, in UTF-8 bytes of its JSON. Default 65 536, at most 130 048 (a storage value). */
  maxMessageBytes?: number
  /** Largest presence state, in UTF-8 bytes of its JSON. Default 1024, at most 1536 (a socket attachment). */
  maxPresenceBytes?: number
  /** Requests per socket. Default 100/s with bursts of 200; `false` disables it. */
  rateLimit?: RateLimit | false
  /** How long a dropped connection stays present, so a quick reconnect does not flicker. Default 5000 ms. */
  presenceGraceMs?: number
  /**
   * Collection channels this object serves, by channel name (see `CollectionSource` in
   * `@tanstack/realtime/server`). The identity passed to `load` and `write` is the connection's
   * user id. Define them in a subclass, where `this.env` reaches your bindings.
   */
  collections?: Record<string, CollectionSource<string>>
  /** Called with internal failures. Default: `console.error`. */
  onError?: (error: unknown) => void
}

/** @internal */
export interface ChannelConfig {
  limits: ServerLimits
  historySize: number
  historyTtlMs: number
  rateLimit: RateLimit | false
  graceMs: number
  maxFrameChars: number
  onError: (error: unknown) => void
}

/** A Durable Object storage value holds 128 KiB; history entries keep a little room for the key. */
const MAX_STORED_MESSAGE_BYTES = 130_048
/** Socket attachments hold 2 KiB; presence state shares one with the user id and connection id. */
const MAX_ATTACHED_PRESENCE_BYTES = 1536

/**
 * Validates channel options and fills in the defaults.
 *
 * @internal
 * @throws {InvalidOptionsError} when an option is out of range.
 */
export function resolveChannelOptions(options: RealtimeChannelOptions): ChannelConfig {
  const maxMessageBytes = intOption(options.maxMessageBytes ?? 65_536, 'maxMessageBytes')
  const maxPresenceBytes = intOption(options.maxPresenceBytes ?? 1024, 'maxPresenceBytes')
  if (maxMessageBytes > MAX_STORED_MESSAGE_BYTES) {
    throw new InvalidOptionsError(
      `maxMessageBytes is at most ${MAX_STORED_MESSAGE_BYTES} on Workers (messages are kept in Durable Object storage).`,
    )
  }
  if (maxPresenceBytes > MAX_ATTACHED_PRESENCE_BYTES) {
    throw new InvalidOptionsError(
      `maxPresenceBytes is at most ${MAX_ATTACHED_PRESENCE_BYTES} on Workers (presence lives in 2 KB socket attachments).`,
    )
  }
  const rate = options.rateLimit ?? { perSecond: 100, burst: 200 }
  const rateLimit = rate && {
    perSecond: intOption(rate.perSecond, 'rateLimit.perSecond'),
    burst: intOption(rate.burst, 'rateLimit.burst'),
  }
  return {
    // One socket serves one channel; the rate limit is announced so clients pace themselves.
    limits: { maxMessageBytes, maxPresenceBytes, maxChannels: 1, ...(rateLimit && { rateLimit }) },
    historySize: intOption(options.historySize ?? 200, 'historySize', 0),
    historyTtlMs: intOption(options.historyTtlMs ?? 120_000, 'historyTtlMs'),
    rateLimit,
    graceMs: intOption(options.presenceGraceMs ?? 5000, 'presenceGraceMs', 0),
    maxFrameChars: maxFrameSize({ maxMessageBytes, maxPresenceBytes }),
    onError: options.onError ?? ((error: unknown) => console.error('[tanstack-realtime]', error)),
  }
}
