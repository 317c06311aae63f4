/**
 * Where a channel's state lives in Redis. Every key of one channel carries the same hash tag (a
 * hash of the channel name in braces), so they share one Cluster slot and one script can touch them
 * all; its pub/sub channel carries the tag too, so sharded pub/sub routes it to the same shard.
 *
 * @module
 */

/** The keys and the pub/sub channel of one channel (see docs/scaling.md for their contents and TTLs). */
export interface ChannelKeys {
  /** The serialized channel key. */
  readonly ch: string
  /** `JSON.stringify(ch)`, spliced into frames. */
  readonly chJson: string
  /** Hash: `e` epoch, `s` last sequence number. */
  readonly meta: string
  /** Stream: the kept messages, entry id `<seq>-0`, fields `d` (data JSON) and `i` (idempotency key). */
  readonly stream: string
  /** Hash: idempotency key -> sequence number, for the kept messages that carry one. */
  readonly idem: string
  /** Hash: connection id -> `<join order> <owner process> <member JSON>`; field `#` counts joins. */
  readonly members: string
  /** Sorted set: connection id scored by the time its membership expires unless its process renews it. */
  readonly deadlines: string
  /** String: the token of the process writing to this collection channel. */
  readonly lock: string
  /** The (sharded) pub/sub channel of messages, presence events and takeovers. */
  readonly pubsub: string
}

/** FNV-1a over UTF-16 code units, as 8 hex digits: a short, stable hash tag for a channel name. */
function tagOf(ch: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < ch.length; i++) {
    hash ^= ch.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}

/** The keys of channel `ch` under `prefix` (which has no braces, so the tag is the only one). */
export function channelKeys(prefix: string, ch: string): ChannelKeys {
  const base = `${prefix}{${tagOf(ch)}}${ch}`
  return {
    ch,
    chJson: JSON.stringify(ch),
    meta: `${base}:m`,
    stream: `${base}:h`,
    idem: `${base}:i`,
    members: `${base}:p`,
    deadlines: `${base}:d`,
    lock: `${base}:w`,
    pubsub: base,
  }
}

/** The key of a resumable connection's record (its id, user id and presence channels), by resume token. */
export function sessionKey(prefix: string, token: string): string {
  return `${prefix}s:${token}`
}
