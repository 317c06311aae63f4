/**
 * The bindings this preset's Worker code touches, declared structurally so that the handler, the
 * server-side `publish` and the transport compile anywhere `Request` and `Response` exist (a
 * Worker, a browser app, Node) without `@cloudflare/workers-types`. A real
 * `DurableObjectNamespace<RealtimeChannel>` (what `wrangler types` generates) satisfies them.
 *
 * @module
 */
import type { StreamPosition, WireMember } from '@tanstack/realtime'

/** A Durable Object id, as `idFromName` returns it. */
export interface ChannelObjectId {
  toString(): string
}

/** A stub of one channel's Durable Object: requests and RPC calls sent to it reach that object. */
export interface ChannelObjectStub {
  fetch(request: Request): Promise<Response>
  /** The RPC methods of `RealtimeChannel`: server-side publish and reads. */
  publish(channel: string, data: unknown): Promise<StreamPosition>
  presence(channel: string): Promise<WireMember[]>
  history(channel: string, limit?: number): Promise<{ seq: number; data: unknown }[]>
}

/**
 * The Durable Object namespace bound as `REALTIME_CHANNEL` in `wrangler.toml`
 * (`[[durable_objects.bindings]]`).
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
