import {
  type Frame,
  MemberList,
  type Permissions,
  Session,
  type SessionHost,
  type SessionSink,
  type SubscriberSet,
  type Subscription,
} from '@tanstack/realtime/server'
import { fromBytes, toBytes } from './storage-log.js'
import { CAN_PRESENCE, CAN_PUBLISH, CAN_SUBSCRIBE } from './wire.js'

/**
 * Where a channel's connections and members live in its Durable Object, so they survive
 * hibernation:
 *
 * - each socket's attachment (at most 2 KB): its connection id, resume token, user id, permissions,
 *   whether it is subscribed, and while present its state (UTF-8 JSON), join stamp and deadline;
 * - storage `grace`: members whose socket dropped, present until their grace period ends.
 *
 * In memory, between wake-ups, the same state is a session per socket, a {@link MemberList} and a
 * set of subscriptions; every change is written through.
 *
 * @module
 */

/** One socket's attachment. */
export interface SocketState {
  /** Connection id. */
  cid: string
  /** The secret the client presents (`resume`) to take this connection over on reconnect. */
  rt: string
  uid: string
  /** Bit set of CAN_SUBSCRIBE, CAN_PUBLISH, CAN_PRESENCE. */
  perm: number
  sub: boolean
  /** Presence state (UTF-8 JSON) while present. */
  p?: Uint8Array
  /** Join stamp while present (members are listed by it). */
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

export const GRACE_KEY = 'grace'

/** Permissions by bit set, shared by every session. */
const GRANTS: readonly Permissions[] = Array.from({ length: 8 }, (_, perm) =>
  Object.freeze({
    subscribe: (perm & CAN_SUBSCRIBE) !== 0,
    publish: (perm & CAN_PUBLISH) !== 0,
    presence: (perm & CAN_PRESENCE) !== 0,
  }),
)

/** A hibernatable socket as a session's sink: sends to a socket that closed meanwhile are dropped. */
class SocketSink implements SessionSink {
  constructor(readonly ws: WebSocket) {}

  send(frame: Frame): void {
    try {
      this.ws.send(frame.text)
    } catch {
      // The socket closed meanwhile; its close handler cleans up.
    }
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason)
    } catch {}
  }
}

/** The session of one socket, with the state its attachment keeps. */
export class SocketSession extends Session<string> {
  sub: boolean
  p: Uint8Array | undefined
  j: number | undefined
  u: number | undefined

  /**
   * @param host - the channel
   * @param ws - the socket
   * @param state - its attachment (a new connection has no `cid` and `rt` yet: they are drawn)
   */
  constructor(
    host: SessionHost<string>,
    readonly ws: WebSocket,
    state: Omit<SocketState, 'cid' | 'rt'> & Partial<SocketState>,
  ) {
    // The identity is the user id: the Worker keeps the token.
    super(host, new SocketSink(ws), state.uid, state.uid, state.cid, state.rt)
    this.grants = GRANTS[state.perm & 7]
    this.perm = state.perm
    this.sub = state.sub
    this.p = state.p
    this.j = state.j
    this.u = state.u
  }

  readonly perm: number

  /** Writes the session's state to its socket's attachment (a closed socket's is left as it is). */
  save(): void {
    const state: SocketState = { cid: this.id, rt: this.resumeToken, uid: this.userId, perm: this.perm, sub: this.sub }
    if (this.p !== undefined) {
      state.p = this.p
      state.j = this.j ?? 0
      if (this.u !== undefined) state.u = this.u
    }
    try {
      this.ws.serializeAttachment(state)
    } catch {}
  }

  /** Its presence state as JSON, if present. */
  get presenceJson(): string | undefined {
    return this.p && fromBytes(this.p)
  }

  /** Clears its presence (left, or moved to another connection or to the grace record). */
  absent(): void {
    this.p = undefined
    this.j = undefined
    this.u = undefined
    this.save()
  }
}

/** The subscriptions of a channel: in memory, each socket's attachment saying whether it is subscribed. */
export class SocketSubscribers implements SubscriberSet {
  readonly #subscriptions = new Set<Subscription>()

  get size(): number {
    return this.#subscriptions.size
  }

  add(subscription: Subscription): void {
    this.#subscriptions.add(subscription)
    const session = subscription.session as SocketSession
    if (!session.sub) {
      session.sub = true
      session.save()
    }
  }

  remove(subscription: Subscription): void {
    if (!this.#subscriptions.delete(subscription)) return
    const session = subscription.session as SocketSession
    session.sub = false
    session.save()
  }

  broadcast(seq: number, frame: Frame): void {
    for (const subscription of this.#subscriptions) subscription.deliver(seq, frame)
  }
}

/**
 * The members of a channel: a {@link MemberList} that writes every change through to the socket
 * attachments (held members) and the storage `grace` record (released ones).
 */
export class AttachmentMembers extends MemberList {
  readonly #grace: Record<string, GracedMember>
  #lastJoin = 0

  /** Restores the members of a channel (in join order) from its sockets' sessions and its grace record. */
  constructor(
    readonly storage: DurableObjectStorage,
    grace: Record<string, GracedMember>,
    sessions: Iterable<SocketSession>,
    readonly onError: (error: unknown) => void,
  ) {
    super()
    this.#grace = grace
    const restored: Array<{
      j: number
      cid: string
      uid: string
      p: Uint8Array
      owner?: SocketSession
      until: number
    }> = []
    for (const session of sessions) {
      if (session.p === undefined) continue
      const { id: cid, userId: uid, p, j = 0, u = 0 } = session
      restored.push({ j, cid, uid, p, owner: session, until: u })
    }
    for (const [cid, { uid, p, j, until }] of Object.entries(grace)) restored.push({ j, cid, uid, p, until })
    restored.sort((a, b) => a.j - b.j)
    for (const { j, cid, uid, p, owner, until } of restored) {
      this.restore({ cid, uid, state: JSON.parse(fromBytes(p)), owner, until })
      this.#lastJoin = Math.max(this.#lastJoin, j)
    }
  }

  /** The resumable member whose dropped connection had resume token `token`. */
  graced(token: string): { cid: string; uid: string } | undefined {
    for (const [cid, member] of Object.entries(this.#grace)) if (member.rt === token) return { cid, uid: member.uid }
  }

  override join(session: Session<any>, state: Record<string, unknown>): void {
    super.join(session, state)
    const socket = session as SocketSession
    socket.p = toBytes(JSON.stringify(state))
    socket.j ??= ++this.#lastJoin
    socket.u = undefined
    socket.save()
  }

  override update(session: Session<any>, state: Record<string, unknown>): void {
    super.update(session, state)
    const socket = session as SocketSession
    socket.p = toBytes(JSON.stringify(state))
    socket.save()
  }

  override leave(session: Session<any>): boolean {
    const left = super.leave(session)
    if (left) (session as SocketSession).absent()
    return left
  }

  override release(session: Session<any>, until: number): void {
    const socket = session as SocketSession
    if (!this.held(session) || socket.p === undefined) return
    super.release(session, until)
    this.#grace[socket.id] = { uid: socket.userId, rt: socket.resumeToken, p: socket.p, j: socket.j ?? 0, until }
    this.#persist()
    socket.absent()
  }

  override claim(cid: string, session: Session<any>, until: number): boolean {
    const taken = this.claimed(cid, session, until)
    if (!taken) return false
    const socket = session as SocketSession
    const previous = taken.previous as SocketSession | undefined
    const from = previous ?? this.#grace[cid]
    if (from) {
      socket.p = from.p
      socket.j = from.j
    }
    if (previous) previous.absent()
    else {
      delete this.#grace[cid]
      this.#persist()
    }
    socket.u = until
    socket.save()
    return true
  }

  override expire(now: number) {
    const result = super.expire(now)
    let released = false
    for (const { cid, owner } of result.expired) {
      if (owner) (owner as SocketSession).absent()
      else {
        delete this.#grace[cid]
        released = true
      }
    }
    if (released) this.#persist()
    return result
  }

  #persist() {
    const written =
      Object.keys(this.#grace).length === 0
        ? this.storage.delete(GRACE_KEY)
        : this.storage.put(GRACE_KEY, { ...this.#grace })
    written.catch(this.onError)
  }
}
