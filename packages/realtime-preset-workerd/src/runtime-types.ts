/**
 * The parts of the Workers runtime this package touches, declared structurally so that its public
 * types compile anywhere `Request` and `Response` exist (a Worker, a browser app, Node) without
 * `@cloudflare/workers-types`. The real runtime objects satisfy them.
 *
 * @module
 */

/** A Durable Object id, as `idFromName` returns it. */
export interface ChannelObjectId {
  toString(): string
  /** The name the id was made from (`idFromName`), where the runtime provides it. */
  readonly name?: string
}

/** A stub of one Durable Object: requests sent to it reach that object. */
export interface ChannelObjectStub {
  fetch(request: Request): Promise<Response>
}

/**
 * The Durable Object namespace bound as `REALTIME_CHANNEL` in `wrangler.toml`
 * (`[[durable_objects.bindings]]`): a real `DurableObjectNamespace` satisfies it.
 */
export interface RealtimeChannelNamespace {
  idFromName(name: string): ChannelObjectId
  get(id: ChannelObjectId): ChannelObjectStub
}

/**
 * The bindings this preset needs in a Worker's `Env`: extend it with your own.
 *
 * @example
 * ```ts
 * interface Env extends WorkerdEnv {
 *   AUTH_SECRET: string
 * }
 * ```
 */
export interface WorkerdEnv {
  /** The `RealtimeChannel` Durable Object namespace (binding name from the seed's `wrangler.toml`). */
  REALTIME_CHANNEL: RealtimeChannelNamespace
}

/** A server-side WebSocket accepted with the Hibernation API. */
export interface HibernatableWebSocket {
  readonly readyState: number
  send(message: string): void
  close(code?: number, reason?: string): void
  serializeAttachment(value: unknown): void
  deserializeAttachment(): unknown
}

/** Durable Object storage (the key-value API, which both storage backends provide). */
export interface ChannelStorage {
  get<T = unknown>(key: string): Promise<T | undefined>
  put(entries: Record<string, unknown>): Promise<void>
  delete(keys: string[]): Promise<number>
  list<T = unknown>(options: { start?: string; end?: string; prefix?: string; limit?: number }): Promise<Map<string, T>>
  deleteAll(): Promise<void>
  setAlarm(scheduledTime: number): Promise<void>
  deleteAlarm(): Promise<void>
}

/** The Durable Object state (`ctx`) a `RealtimeChannel` is constructed with. */
export interface RealtimeChannelState {
  readonly id: ChannelObjectId
  readonly storage: ChannelStorage
  acceptWebSocket(ws: HibernatableWebSocket, tags?: string[]): void
  getWebSockets(tag?: string): HibernatableWebSocket[]
  setWebSocketAutoResponse(pair?: unknown): void
}
