import type { StreamPosition, WireMember } from '@tanstack/realtime'
import {
  type Authorizer,
  ChannelCore,
  type ChannelPorts,
  type CollectionSource,
  type CoreHost,
  type HistoryMessage,
  type Permissions,
  type ResumeCandidate,
  type ServerConfig,
  type Session,
  type SessionHost,
  Subscription,
} from '@tanstack/realtime/server'
import { AttachmentMembers, GRACE_KEY, type GracedMember, SocketSession, SocketSubscribers } from './socket-session.js'
import { type ChannelMeta, META_KEY, newMeta, StorageLog } from './storage-log.js'
import type { ForwardedAuth } from './wire.js'

const RESUME_TOKEN = /^[A-Za-z0-9]{16,64}$/

/**
 * One channel as its Durable Object hosts it between wake-ups: the ports over storage and socket
 * attachments, a session per socket, and the alarm as the scheduler. The semantics are the
 * {@link ChannelCore}'s; this only hosts them.
 *
 * @internal
 */
export class ChannelHost implements SessionHost<string>, CoreHost, ChannelPorts {
  readonly core: ChannelCore<string>
  readonly permissions: Authorizer<string> = (session) => session.grants as Permissions
  readonly ch: string
  readonly log: StorageLog
  readonly members: AttachmentMembers
  readonly subscribers = new SocketSubscribers()
  readonly #sessions = new WeakMap<WebSocket, SocketSession>()
  /** Open sessions (a closed socket may still be listed by the runtime while its close is handled). */
  readonly #open = new Set<SocketSession>()
  /** When the alarm is set for, if it is. */
  #alarm: number | null

  /**
   * Loads a channel's state, created with a new epoch on first use. Undefined when the object has
   * none and does not know its channel (neither its name nor `ch`).
   */
  static async load(
    ctx: DurableObjectState,
    config: ServerConfig,
    collections: Record<string, CollectionSource<string>>,
    ch: string | undefined,
  ): Promise<ChannelHost | undefined> {
    const stored = await ctx.storage.get<unknown>([META_KEY, GRACE_KEY])
    let meta = stored.get(META_KEY) as ChannelMeta | undefined
    if (!meta) {
      if (ch === undefined) return undefined
      meta = newMeta(ch)
      ctx.storage.put(META_KEY, meta).catch(config.onError)
    }
    const grace = (stored.get(GRACE_KEY) ?? {}) as Record<string, GracedMember>
    return new ChannelHost(ctx, config, collections, meta, grace, await ctx.storage.getAlarm())
  }

  constructor(
    readonly ctx: DurableObjectState,
    readonly config: ServerConfig,
    collections: Record<string, CollectionSource<string>>,
    meta: ChannelMeta,
    grace: Record<string, GracedMember>,
    alarm: number | null,
  ) {
    this.ch = meta.ch
    this.#alarm = alarm
    this.core = new ChannelCore(config, collections, this)
    this.log = new StorageLog(ctx.storage, meta, config.historySize, config.onError)
    // Sessions come back from the sockets' attachments: members, subscriptions and resume tokens with them.
    for (const ws of ctx.getWebSockets()) {
      const state = ws.deserializeAttachment()
      if (!state) continue
      const session = new SocketSession(this, ws, state)
      this.#sessions.set(ws, session)
      this.#open.add(session)
      if (session.p !== undefined) session.presence = new Set([this.ch])
      if (session.sub) {
        const subscription = new Subscription(session, this.ch, true)
        session.subscribe(subscription)
        this.subscribers.add(subscription)
      }
    }
    this.members = new AttachmentMembers(ctx.storage, grace, this.#open, config.onError)
  }

  /** The session of a socket. */
  session(ws: WebSocket): SocketSession | undefined {
    return this.#sessions.get(ws)
  }

  /**
   * A new socket, authenticated by the Worker: it takes over the connection whose `resume` token it
   * presents (an open socket not noticed dead yet, or a member in its grace period), then gets `hello`.
   */
  async accept(ws: WebSocket, auth: ForwardedAuth, resume: string | null): Promise<void> {
    const session = new SocketSession(this, ws, { uid: auth.uid, perm: auth.perm, sub: false })
    this.#sessions.set(ws, session)
    this.#open.add(session)
    const resumed = resume !== null && RESUME_TOKEN.test(resume) && (await session.takeOver(this.#candidate(resume)))
    session.save()
    session.hello(resumed)
  }

  /** Ends grace periods (announcing leaves), and drops the history of a channel nobody used for `historyTtlMs`. */
  async alarm(): Promise<'expired' | undefined> {
    this.#alarm = null
    await this.core.wake(this)
    if (!this.#idle()) return
    if (this.log.meta.touched + this.config.historyTtlMs > Date.now()) {
      this.#expireLater()
      return
    }
    // History expires: the next use starts a new epoch, so late resumers are told to reset.
    await this.log.drop()
    return 'expired'
  }

  /** Server-side publish (POST or RPC). */
  async publish(data: unknown): Promise<StreamPosition> {
    const position = await this.core.publish(this.ch, data)
    if (this.#idle()) this.#expireLater()
    return position
  }

  /** Server-side reads (RPC). */
  presence(): Promise<WireMember[]> | WireMember[] {
    return this.core.members(this.ch)
  }

  async history(limit: number | undefined): Promise<HistoryMessage[]> {
    return (await this.core.history(this.ch, limit)).messages
  }

  stats() {
    let members = 0
    for (const session of this.#open) if (session.p !== undefined) members++
    const { seq, epoch } = this.log.meta
    return {
      channel: this.ch,
      seq,
      epoch,
      connections: this.#open.size,
      subscribers: this.subscribers.size,
      members,
    }
  }

  // CoreHost: one channel

  open(): ChannelPorts {
    return this
  }

  find(ch: string): ChannelPorts | undefined {
    return ch === this.ch ? this : undefined
  }

  wakeAt(_ports: ChannelPorts, time: number): void {
    if (this.#alarm !== null && this.#alarm <= time) return
    this.#alarm = time
    this.ctx.storage.setAlarm(time).catch(this.config.onError)
  }

  // SessionHost

  refuse(_session: Session<string>, ch: string): string | undefined {
    if (ch === this.ch) return undefined
    return `This socket serves ${this.ch}: open another socket for ${ch} (one socket per channel).`
  }

  ended(session: Session<string>): void {
    this.#open.delete(session as SocketSession)
    if (this.#open.size > 0) return
    this.log.touch()
    if (this.#idle()) this.#expireLater()
  }

  #candidate(token: string): ResumeCandidate<string> | undefined {
    for (const session of this.#open) {
      if (session.resumeToken !== token) continue
      // Its socket is half-dead and not noticed yet: the new one takes over.
      return { cid: session.id, uid: session.userId, channels: session.presence ?? [], session }
    }
    const graced = this.members.graced(token)
    return graced && { ...graced, channels: [this.ch] }
  }

  /** Nobody connected and no member left: the history expires `historyTtlMs` after the last use. */
  #idle(): boolean {
    return this.#open.size === 0 && this.members.size === 0
  }

  #expireLater() {
    this.wakeAt(this, this.log.meta.touched + this.config.historyTtlMs)
  }
}
