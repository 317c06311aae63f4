import { InvalidOptionsError } from '@tanstack/realtime'
import { type ChannelOptions, resolveServerOptions, type ServerConfig } from '@tanstack/realtime/server'

/**
 * Options of a {@link RealtimeChannel} class: the same limits, history, presence and collection
 * options as the Node server's (`ChannelOptions` of `@tanstack/realtime/server`, with its
 * defaults), applied per channel. Set them by overriding `options` in a subclass.
 *
 * On Workers, `maxMessageBytes` is at most 130 048 (a message is one storage value) and
 * `maxPresenceBytes` at most 1536 (presence lives in a 2 KB socket attachment). The identity a
 * collection's `load` and `write` receive is the connection's user id (a string): the token stays
 * in the Worker. Define collections in a subclass, where `this.env` reaches your bindings.
 */
export type RealtimeChannelOptions = ChannelOptions<string>

/** A Durable Object storage value holds 128 KiB; history entries keep a little room for the key. */
const MAX_STORED_MESSAGE_BYTES = 130_048
/** Socket attachments hold 2 KiB; presence state shares one with the user id and connection id. */
const MAX_ATTACHED_PRESENCE_BYTES = 1536

/**
 * Validates channel options and fills in the defaults: one socket serves one channel.
 *
 * @internal
 * @throws {InvalidOptionsError} when an option is out of range.
 */
export function resolveChannelOptions(options: RealtimeChannelOptions): ServerConfig {
  const config = resolveServerOptions(options, 1)
  const { maxMessageBytes, maxPresenceBytes } = config.limits
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
  return config
}

/**
 * The `limit` of a history read, checked where it is given: in the Worker (so the caller gets
 * this error, which does not survive RPC as its class) and in the object (for direct RPC callers).
 *
 * @internal
 * @throws {InvalidOptionsError} when `limit` is not an integer >= 1.
 */
export function historyLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new InvalidOptionsError(`Option "limit" must be an integer >= 1; got ${String(limit)}.`)
  }
  return limit
}
