/**
 * Where a channel's state lives in its Durable Object.
 *
 * Storage (survives eviction and restarts):
 * - `meta`: `{ ch, epoch, seq, touched }`, the channel key, its history's epoch, the last sequence
 *   number and when it was last used;
 * - `m:<seq, 16 digits>`: one message's `data` as UTF-8 JSON, the last `historySize` of them;
 * - `grace`: members whose socket dropped, kept present until their grace period ends.
 *
 * Socket attachments (survive hibernation, at most 2 KB): the connection's id, resume token, user
 * id, permissions, whether it is subscribed, and its presence state as UTF-8 JSON.
 *
 * @internal
 * @module
 */

export interface ChannelMeta {
  /** The serialized channel key. */
  ch: string
  epoch: string
  seq: number
  /** When a message was last published or the last socket left (for `historyTtlMs`). */
  touched: number
}

/** One socket's state, kept in its attachment. */
export interface SocketState {
  /** Connection id. */
  cid: string
  /** The secret the client presents (`resume`) to keep this connection's id and presence on reconnect. */
  rt: string
  uid: string
  perm: number
  sub: boolean
  /** Presence state (UTF-8 JSON) while present. */
  p?: Uint8Array
  /** Join order while present. */
  j?: number
  /** Presence inherited by a resume stays until this time unless the client joins again. */
  u?: number
}

/** A member whose socket dropped: present until `until`, resumable by the same user. */
export interface GracedMember {
  uid: string
  /** The resume token of the dropped connection. */
  rt: string
  p: Uint8Array
  j: number
  until: number
}

export const META_KEY = 'meta'
export const GRACE_KEY = 'grace'
const MESSAGE_PREFIX = 'm:'

export function messageKey(seq: number): string {
  return `${MESSAGE_PREFIX}${String(seq).padStart(16, '0')}`
}

export const messagePrefix = MESSAGE_PREFIX

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function toBytes(text: string): Uint8Array {
  return encoder.encode(text)
}

export function fromBytes(bytes: Uint8Array): string {
  return decoder.decode(bytes)
}
