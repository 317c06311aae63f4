/**
 * One channel of a {@link RedisChannelStore} in one process: the ports the channel core uses. The
 * log and the member list live in Redis; this process keeps its subscriptions, the members it holds
 * (with their grace deadlines) and, while it has either, the channel's feed (its pub/sub
 * subscription), through which every message reaches the local subscribers.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import {
  type Appended,
  type ChannelLog,
  type ChannelPorts,
  type ExpiredMember,
  type Frame,
  type LogRead,
  type MaybePromise,
  MemberList,
  type MemberStore,
  messageFrame,
  resyncFrame,
  type Session,
  type SubscriberSet,
  type Subscription,
  type WireMember,
} from '@tanstack/realtime/server'
import type { Feed, FeedListener } from './feed.js'
import type { ChannelKeys } from './keys.js'
import type { RedisChannelStore } from './store.js'

/** The ports of one channel, in one process. */
export class RedisChannel implements ChannelPorts, ChannelLog, SubscriberSet, FeedListener {
  readonly members: RedisMembers
  readonly #subscriptions = new Set<Subscription>()
  /** The pub/sub subscription, while this process has a subscriber or a member here. */
  feed: Feed | undefined = undefined

  constructor(
    readonly store: RedisChannelStore,
    readonly keys: ChannelKeys,
  ) {
    this.members = new RedisMembers(this)
  }

  get ch(): string {
    return this.keys.ch
  }

  get log(): this {
    return this
  }

  get subscribers(): this {
    return this
  }

  /** Whether this process has a subscriber or a member here (then it holds the feed). */
  get busy(): boolean {
    return this.#subscriptions.size > 0 || this.members.size > 0
  }

  /** Live subscriptions (their ack sent). */
  get liveSubscribers(): number {
    let live = 0
    for (const subscription of this.#subscriptions) if (!subscription.pending) live++
    return live
  }

  /** Someone subscribed, joined, left or unsubscribed: starts or stops the feed. */
  touched(): void {
    this.store.touched(this)
  }

  // ChannelLog: every read waits for the feed, if any, to be live (so no message falls between what
  // the read returns and what the feed delivers) and to have delivered up to the position read.

  async position(): Promise<StreamPosition> {
    await this.feed?.ready()
    const position = await this.store.log.position(this.keys)
    await this.feed?.reached(position)
    return position
  }

  async append(dataJson: string, idem?: string): Promise<Appended> {
    const { seq, epoch, duplicate } = await this.store.log.append(this.keys, dataJson, idem)
    // The frame reaches subscribers through the feeds of every process (this one's too).
    return { seq, epoch, frame: duplicate ? undefined : messageFrame(this.keys.chJson, seq, dataJson) }
  }

  async read(after: number, limit?: number): Promise<LogRead> {
    await this.feed?.ready()
    const read = await this.store.log.read(this.keys, after, limit)
    await this.feed?.reached(read.position)
    return read
  }

  find(idem: string): Promise<StreamPosition | undefined> {
    return this.store.log.find(this.keys, idem)
  }

  // SubscriberSet

  add(subscription: Subscription): void {
    this.#subscriptions.add(subscription)
    this.touched()
  }

  remove(subscription: Subscription): void {
    if (this.#subscriptions.delete(subscription)) this.touched()
  }

  /** Nothing: messages reach the subscribers of every process through the feed, in one order. */
  broadcast(): void {}

  // FeedListener

  message(seq: number, frame: Frame): void {
    for (const subscription of this.#subscriptions) subscription.deliver(seq, frame)
  }

  presence(frame: Frame, originCid: string): void {
    this.members.deliver(frame, originCid)
  }

  /** Continuity lost: each subscriber gets a resync hint and nothing more until it subscribes again. */
  reset(): void {
    const hint = resyncFrame(this.keys.chJson)
    for (const subscription of this.#subscriptions) subscription.deliver(Number.MAX_SAFE_INTEGER, hint)
    this.#subscriptions.clear()
    this.touched()
  }

  claimed(cid: string): void {
    this.members.claimedElsewhere(cid)
  }

  /** One collection write at a time across every process (see `RedisChannelStore`). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.store.exclusive(this.keys, task)
  }
}

/**
 * The members of a channel this process holds (in join order, with their grace deadlines, in the
 * core's in-memory {@link MemberList}), written through to Redis, where every process's members are
 * listed.
 */
export class RedisMembers implements MemberStore {
  /** This process's members. */
  readonly #local = new MemberList()
  /** The member list a join returned, for the `list()` the core asks for right after it. */
  #joined: WireMember[] | undefined = undefined

  constructor(readonly channel: RedisChannel) {}

  get #redis() {
    return this.channel.store.presence
  }

  /** This process's members (held or in their grace period). */
  get size(): number {
    return this.#local.size
  }

  list(): MaybePromise<WireMember[]> {
    const joined = this.#joined
    this.#joined = undefined
    return joined ?? this.#redis.list(this.channel.keys)
  }

  state(session: Session<any>): Record<string, unknown> | undefined {
    return this.#local.state(session)
  }

  async join(session: Session<any>, state: Record<string, unknown>): Promise<void> {
    this.#local.join(session, state)
    this.channel.touched()
    this.#redis.remember(this.channel.ch, session.id, session.userId, session.resumeToken)
    // The feed is live before the list is read: a member joining elsewhere in between is announced to us.
    await this.channel.feed?.ready()
    this.#joined = await this.#redis.join(this.channel.keys, { cid: session.id, uid: session.userId, state })
  }

  async update(session: Session<any>, state: Record<string, unknown>): Promise<void> {
    if (!this.#local.held(session)) return
    this.#local.update(session, state)
    this.#joined = undefined
    await this.#redis.update(this.channel.keys, { cid: session.id, uid: session.userId, state })
  }

  async leave(session: Session<any>): Promise<boolean> {
    if (!this.#local.leave(session)) return false
    this.#joined = undefined
    this.#redis.forget(this.channel.ch, session.id)
    this.channel.touched()
    await this.#redis.leave(this.channel.keys, session.id)
    return true
  }

  /** The member stays this process's in Redis (renewed by the heartbeat) until the core expires it. */
  release(session: Session<any>, until: number): void {
    this.#local.release(session, until)
  }

  async claim(cid: string, session: Session<any>, until: number): Promise<boolean> {
    const member = await this.#redis.claim(this.channel.keys, cid)
    if (!member) {
      // Gone from Redis (expired, or lost with it): nothing to hold here either.
      if (this.#local.delete(cid)) this.channel.touched()
      return false
    }
    if (!this.#local.claim(cid, session, until)) this.#local.restore({ ...member, owner: session, until })
    this.#redis.remember(this.channel.ch, cid, member.uid, session.resumeToken)
    this.channel.touched()
    return true
  }

  async expire(now: number): Promise<{ expired: ExpiredMember[]; next: number | undefined }> {
    const result = this.#local.expire(now)
    if (result.expired.length === 0) return result
    this.#joined = undefined
    for (const { cid } of result.expired) this.#redis.forget(this.channel.ch, cid)
    this.channel.touched()
    await Promise.all(result.expired.map(({ cid }) => this.#redis.leave(this.channel.keys, cid)))
    return result
  }

  /** Delivers to this process's members at once, and to the other processes' through Redis. */
  announce(frame: Frame, except: Session<any> | undefined): void {
    this.#local.announce(frame, except)
    this.#redis.announce(this.channel.keys, except?.id ?? '', frame.text)
  }

  /** A presence event from another process: to this process's members but its origin. */
  deliver(frame: Frame, originCid: string): void {
    this.#local.announce(frame, this.#local.entry(originCid)?.owner)
  }

  /**
   * Connection `cid` resumed on another process, which took its membership over: it is forgotten
   * here without a leave, and a connection still holding it (a socket not noticed dead) is replaced.
   */
  claimedElsewhere(cid: string): void {
    const entry = this.#local.entry(cid)
    if (!entry) return
    this.#local.delete(cid)
    this.#joined = undefined
    this.#redis.forget(this.channel.ch, cid)
    if (entry.owner?.open) entry.owner.replaced()
    else entry.owner?.presence?.delete(this.channel.ch)
    this.channel.touched()
  }

  /**
   * The members this process renews: held by an open connection, or released and in their grace
   * period. One still held by a connection that was replaced (its memberships taken over elsewhere)
   * is let go here: its new owner renews it, or it expires.
   */
  renewed(): string[] {
    const cids: string[] = []
    for (const entry of [...this.#local.entries()]) {
      if (entry.owner && !entry.owner.open) {
        this.#local.delete(entry.cid)
        this.#redis.forget(this.channel.ch, entry.cid)
      } else cids.push(entry.cid)
    }
    return cids
  }

  /**
   * What a heartbeat found: members Redis lost or let expire are written back and announced again;
   * members another process took over are let go.
   */
  async recover(gone: string[], other: string[]): Promise<void> {
    for (const cid of other) this.claimedElsewhere(cid)
    await Promise.all(
      gone.map(async (cid) => {
        const entry = this.#local.entry(cid)
        if (!entry || (entry.owner && !entry.owner.open)) return
        const m = { cid, uid: entry.uid, state: entry.state }
        await this.#redis.join(this.channel.keys, m)
        this.#redis.announce(this.channel.keys, cid, JSON.stringify({ t: 'pres', ch: this.channel.ch, ev: 'join', m }))
      }),
    )
  }
}
