import type {
  ChannelKey,
  PresenceMember,
  RealtimeClient,
  RealtimeClientOptions,
  RealtimeTransport,
  StreamPosition,
} from '@tanstack/realtime'
import type {
  CollectionSource,
  HistoryMessage,
  HistoryOptions,
  Permissions,
  RateLimit,
} from '@tanstack/realtime/server'

/**
 * Server options every preset's harness understands (the token a client sends is its user id).
 * Every harness server also serves the channels of schema-channels.js (`channels: schemaChannels(...)`,
 * `hookTimeoutMs: HOOK_TIMEOUT_MS`), whose names no other test uses.
 */
export interface HarnessOptions {
  /** Per-channel permissions; default everything allowed. Runs in the test process. */
  authorize?: (userId: string, channel: ChannelKey) => Permissions | null | undefined | Promise<Permissions | null>
  /** Replaces "the token is the identity": return null to refuse, throw to fail. Runs in the test process. */
  identify?: (token: string | null) => string | null
  /** Receives the server's reported errors (from `getAuthToken` and `authorize`). */
  onError?: (error: unknown) => void
  allowedOrigins?: string[]
  historySize?: number
  maxMessageBytes?: number
  maxPresenceBytes?: number
  rateLimit?: RateLimit | false
  /** Default 0 in the harness, so leaves show at once unless a test sets it. */
  presenceGraceMs?: number
  /**
   * The collection served under the channel name `todos`, run in the test process: on Workers the
   * channel's object reaches it over I/O, as a real source reaches its database. Its identity is the
   * one each preset documents: what `getAuthToken` returned on Node (here the token), the user id on
   * Workers (here the token too, by the default user id rule).
   */
  collection?: CollectionSource<string>
}

/** A token, or a function returning one on every (re)connect. */
export type TokenSource = string | (() => string | null | Promise<string | null>)

/** One running server of a preset, on 127.0.0.1. */
export interface HarnessServer {
  /** The server's origin, `ws://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** The preset's transport, to `url` unless given (a proxy's url). */
  transport(token: TokenSource, url?: string): RealtimeTransport
  /** A real client through the preset's transport, with fast reconnects; disconnected after each test. */
  client(token: TokenSource, options?: Partial<RealtimeClientOptions> & { url?: string }): RealtimeClient
  /** The URL a raw socket for `channel` (serialized) opens, with `query` (such as `v=1&token=alice`). */
  socketUrl(channel: string, query: string): string
  /** Server-side publish. */
  publish(channel: ChannelKey, data: unknown): Promise<StreamPosition>
  /** Server-side read: the presence members of `channel` (`getPresence` of the preset). */
  getPresence(channel: ChannelKey): Promise<PresenceMember[]>
  /** Server-side read: the newest kept messages of `channel`, oldest first (`getHistory` of the preset). */
  getHistory(channel: ChannelKey, options?: HistoryOptions): Promise<HistoryMessage[]>
  /** Connections subscribed to `channel`. */
  subscriberCount(channel: ChannelKey): Promise<number>
  /** Stops the server (clients see their sockets close and start reconnecting). */
  stop(): Promise<void>
  /** Starts the same server again on the same port, with fresh state (a restart). */
  restart(): Promise<void>
}

/** How the conformance suite starts a preset's server. */
export interface Harness {
  readonly name: string
  start(options?: HarnessOptions): Promise<HarnessServer>
  /** Disconnects every client made since the last call. */
  closeClients(): void
}
