/**
 * The ports of a channel: how the channel core ({@link ChannelCore}) reaches a channel's state. The
 * core holds the semantics (replay or reset, presence and its grace period, collections, ordering);
 * a host implements these small interfaces over its own storage: memory on Node
 * ({@link MemoryChannelStore}), Durable Object storage and socket attachments on Workers, and the
 * same contract tests run against every implementation.
 *
 * Every method may answer synchronously or with a promise: in-memory ports stay synchronous, so the
 * Node server's hot paths allocate no promise.
 *
 * @module
 */
import type { StreamPosition, WireMember } from '../../protocol.js'
import { randomId } from '../../runtime.js'
import type { Frame } from '../frame.js'
import type { Session } from '../session/session.js'
import type { Subscription } from './subscription.js'

export type MaybePromise<T> = T | Promise<T>

/** One message of a channel's log, with its `msg` frame (built once, sent to many). */
export interface LoggedMessage {
  readonly seq: number
  readonly frame: Frame
}

/** What {@link ChannelLog.read} returns: the position, and the kept messages after the one asked for. */
export interface LogRead {
  position: StreamPosition
  /** Kept messages with a higher sequence number, oldest first, contiguous, ending at `position.seq`. */
  messages: LoggedMessage[]
}

/** What {@link ChannelLog.append} returns. */
export interface Appended {
  seq: number
  epoch: string
  /** The message's frame to broadcast; `undefined` when `idem` named a kept message (`seq` is that one's). */
  frame: Frame | undefined
}

/**
 * A channel's message log: a sequence number, an epoch naming one unbroken history, and the last
 * `historySize` messages. When the log loses its history (expiry after `historyTtlMs` idle, a
 * restart) it starts again at a new epoch, so late resumers are told to reset.
 */
export interface ChannelLog {
  /** The current position (the sequence number of the last message, 0 before the first). */
  position(): MaybePromise<StreamPosition>
  /**
   * Appends a message (its `data` as JSON) and returns its position and frame. With an idempotency
   * key `idem` that a kept message carries, appends nothing and returns that message's position.
   * The key is forgotten with its message when it leaves the history.
   */
  append(dataJson: string, idem?: string): MaybePromise<Appended>
  /**
   * The position, and the kept messages after sequence number `after` (at most the `limit` newest).
   * Read atomically: no append falls between the position and the messages.
   */
  read(after: number, limit?: number): MaybePromise<LogRead>
  /** The position of the kept message carrying idempotency key `idem`, if any. */
  find(idem: string): MaybePromise<StreamPosition | undefined>
}

/** A member whose deadline passed, removed by {@link MemberStore.expire}. */
export interface ExpiredMember {
  cid: string
  uid: string
  /** Its last state (for `onLeave`). */
  state: Record<string, unknown>
  /** The connection that held it, when one still did (inherited presence that was not re-joined). */
  owner: Session<any> | undefined
}

/**
 * A channel's presence members, keyed by connection id, listed in join order. A member belongs to
 * a session; when the session drops it is `release`d with a deadline (the grace period), and a
 * reconnecting session can `claim` it (it then holds it until the same deadline unless it joins
 * again). Members past their deadline are removed by `expire`.
 */
export interface MemberStore {
  /** Every member, held or released, in join order. */
  list(): MaybePromise<WireMember[]>
  /** The presence state of `session` on this channel, if it is a member. */
  state(session: Session<any>): MaybePromise<Record<string, unknown> | undefined>
  /** Adds `session` as a member (at the end) or replaces its state (in place); clears its deadline. */
  join(session: Session<any>, state: Record<string, unknown>): MaybePromise<void>
  /** Replaces the state of a member (its place and deadline stay). */
  update(session: Session<any>, state: Record<string, unknown>): MaybePromise<void>
  /** Removes the member of `session`; false when it was none. */
  leave(session: Session<any>): MaybePromise<boolean>
  /** `session` dropped: its member stays, held by nobody, until `until`. */
  release(session: Session<any>, until: number): MaybePromise<void>
  /**
   * The member with connection id `cid` (released, or held by a socket that was not noticed dead)
   * becomes `session`'s, until `until` unless it joins again. False when there is none.
   */
  claim(cid: string, session: Session<any>, until: number): MaybePromise<boolean>
  /** Removes the members whose deadline is at or before `now`; `next` is the earliest deadline left. */
  expire(now: number): MaybePromise<{ expired: ExpiredMember[]; next: number | undefined }>
  /** Sends a presence frame to the session of every held member but `except`. */
  announce(frame: Frame, except: Session<any> | undefined): void
}

/** The sessions subscribed to a channel. */
export interface SubscriberSet {
  add(subscription: Subscription): void
  remove(subscription: Subscription): void
  /** Hands a message to every subscription (each delivers it, or holds it while it catches up). */
  broadcast(seq: number, frame: Frame): void
}

/** Everything the core reaches of one channel. */
export interface ChannelPorts {
  /** The serialized channel key. */
  readonly ch: string
  readonly log: ChannelLog
  readonly members: MemberStore
  readonly subscribers: SubscriberSet
  /**
   * Optional, for stores shared by several processes: runs `task` while no other process runs one
   * for this channel, so collection writes are applied and broadcast in one order everywhere.
   */
  exclusive?<T>(task: () => Promise<T>): Promise<T>
}

/** A connection found by a store shared by several processes: another process may have held it. */
export interface StoredSession {
  cid: string
  uid: string
  /** Channels it is present in (their ports are open in this store). */
  channels: string[]
}

/**
 * Where a server keeps its channels' state: the ports of each channel, created on first use. The
 * Node server's default is {@link MemoryChannelStore}; a store shared by several processes (Redis)
 * implements the same ports.
 */
export interface ChannelStore {
  /** The ports of channel `ch`, created when it has no state yet. */
  open(ch: string): ChannelPorts
  /** The ports of channel `ch` if it has state. */
  find(ch: string): ChannelPorts | undefined
  /** Channels with a subscriber or a member in this process (for stats). */
  activeCount(): number
  /** Sessions of this process subscribed to channel `ch`. */
  subscriberCount(ch: string): number
  /**
   * Optional, for stores shared by several processes: the connection that held resume secret
   * `token`, for a reconnecting client of user `uid` (on any process), so it resumes here. Undefined
   * when there is none (expired, unknown, or another user's).
   */
  resume?(token: string, uid: string): Promise<StoredSession | undefined>
  /** Stops timers and drops every channel. */
  close(): MaybePromise<void>
}

/** Runs `next` on a value that may be a promise, staying synchronous when it is not. */
export function settle<T, R>(value: MaybePromise<T>, next: (value: T) => R): R | Promise<Awaited<R>> {
  return value instanceof Promise ? (value.then(next) as Promise<Awaited<R>>) : next(value)
}

/** A new epoch: a random name for a history that starts now (for logs that lose theirs). */
export function newEpoch(): string {
  return randomId(12)
}
