import type { AnyChannelDefinition } from '../channel.js'
import { intOption } from '../options.js'
import { frameTooLarge, maxFrameSize, type RateLimit, type ServerLimits } from '../protocol.js'
import { logError } from '../runtime.js'
import type { CollectionSource } from './channel/collections.js'
import { type ChannelSpec, resolveChannelSpecs, type ServerChannel } from './channel/server-channel.js'
import { type Frame, serverFrame } from './frame.js'

/**
 * The options every server has, whatever hosts it (the Node preset's `createNodeServer`, the Workers
 * preset's `RealtimeChannel`): limits, history, presence and collections. One set of defaults
 * ({@link DEFAULTS}), validated by {@link resolveServerOptions}.
 */
export interface ChannelOptions<I = unknown> {
  /** Messages kept per channel for resume (and `rewind`, and idempotency keys). Default 200. */
  historySize?: number
  /** How long a channel nobody uses keeps its history and sequence. Default 120 000 ms. */
  historyTtlMs?: number
  /** Largest message `data`, in UTF-8 bytes of its JSON. Default 65 536. */
  maxMessageBytes?: number
  /** Largest presence state, in UTF-8 bytes of its JSON. Default 1024. */
  maxPresenceBytes?: number
  /** Requests per connection. Default 100/s with bursts of 200; `false` disables it. */
  rateLimit?: RateLimit | false
  /** How long a dropped connection stays present, so a quick reconnect does not flicker. Default 5000 ms. */
  presenceGraceMs?: number
  /** Collection channels served, by channel name (see {@link CollectionSource}). */
  collections?: Record<string, CollectionSource<I>>
  /**
   * Channels whose requests the server checks and shapes: channel definitions with schemas
   * (`defineChannel('chat', { message })`), and `defineServerChannel(definition, hooks)` for
   * `onPublish`, `onJoin`, `onUpdate` and `onLeave`. Channels not listed take any JSON.
   */
  channels?: readonly (ServerChannel<I> | AnyChannelDefinition)[]
  /** How long a hook may run before its request is answered `internal` (and reported). Default 5000 ms. */
  hookTimeoutMs?: number
  /** Called with errors thrown by user callbacks and internal failures. Default: `console.error`. */
  onError?: (error: unknown) => void
}

/** The defaults of {@link ChannelOptions}, shared by every server. */
export const DEFAULTS = {
  historySize: 200,
  historyTtlMs: 120_000,
  maxMessageBytes: 65_536,
  maxPresenceBytes: 1024,
  maxChannels: 100,
  rateLimit: { perSecond: 100, burst: 200 },
  presenceGraceMs: 5000,
  maxHistoryBytes: 64 * 1024 * 1024,
  hookTimeoutMs: 5000,
} as const

/** Options resolved and validated: what a channel core, a session and a host read. */
export interface ServerConfig {
  /** The limits announced in `hello`. */
  readonly limits: ServerLimits
  /** `limits` as JSON, built once (connecting is a hot path). */
  readonly limitsJson: string
  readonly rateLimit: RateLimit | false
  readonly historySize: number
  readonly historyTtlMs: number
  readonly graceMs: number
  /** The longest frame accepted (longer ones are refused and their socket closed with 1009). */
  readonly maxFrameChars: number
  /** The id-less `err` sent before closing a socket for a frame longer than `maxFrameChars`. */
  readonly frameTooLarge: Frame
  readonly onError: (error: unknown) => void
  /** The `channels` option: schemas and hooks by channel name. */
  readonly channels: ReadonlyMap<string, ChannelSpec<any>>
  readonly hookTimeoutMs: number
}

/**
 * Validates options and fills in the defaults.
 *
 * @param maxChannels - channels one connection may use at once (one on Workers, where a socket serves one channel)
 * @throws {InvalidOptionsError} when a limit is not a positive integer (`historySize` and `presenceGraceMs` may
 *   be 0), or `channels` names a channel twice or holds something else than channel definitions.
 */
export function resolveServerOptions(options: ChannelOptions<any>, maxChannels: number): ServerConfig {
  const rate = options.rateLimit ?? DEFAULTS.rateLimit
  const rateLimit = rate && {
    perSecond: intOption(rate.perSecond, 'rateLimit.perSecond'),
    burst: intOption(rate.burst, 'rateLimit.burst'),
  }
  const limits: ServerLimits = {
    maxMessageBytes: intOption(options.maxMessageBytes ?? DEFAULTS.maxMessageBytes, 'maxMessageBytes'),
    maxPresenceBytes: intOption(options.maxPresenceBytes ?? DEFAULTS.maxPresenceBytes, 'maxPresenceBytes'),
    maxChannels,
    // Announced, so clients pace themselves.
    ...(rateLimit && { rateLimit }),
  }
  const onError = options.onError ?? logError
  const maxFrameChars = maxFrameSize(limits)
  return {
    limits,
    limitsJson: JSON.stringify(limits),
    rateLimit,
    historySize: intOption(options.historySize ?? DEFAULTS.historySize, 'historySize', 0),
    historyTtlMs: intOption(options.historyTtlMs ?? DEFAULTS.historyTtlMs, 'historyTtlMs'),
    graceMs: intOption(options.presenceGraceMs ?? DEFAULTS.presenceGraceMs, 'presenceGraceMs', 0),
    maxFrameChars,
    frameTooLarge: serverFrame(frameTooLarge(maxFrameChars)),
    channels: resolveChannelSpecs(options.channels),
    hookTimeoutMs: intOption(options.hookTimeoutMs ?? DEFAULTS.hookTimeoutMs, 'hookTimeoutMs'),
    // A throwing onError must not break the request that reported.
    onError: (error) => {
      try {
        onError(error)
      } catch (failure) {
        logError(error, failure)
      }
    },
  }
}
