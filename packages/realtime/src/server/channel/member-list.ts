import type { WireMember } from '../../protocol.js'
import type { Frame } from '../frame.js'
import type { Session } from '../session/session.js'
import type { ExpiredMember, MemberStore } from './ports.js'

/** One presence member of a channel. */
export interface MemberEntry {
  readonly cid: string
  readonly uid: string
  state: Record<string, unknown>
  /** The session holding it; undefined once released (its connection dropped). */
  owner: Session<any> | undefined
  /** When it leaves unless its connection comes back and joins again; 0 for none. */
  until: number
}

/**
 * A channel's presence members in memory, in join order: the {@link MemberStore} of the Node
 * server's memory store, and the Durable Object's between wake-ups (it extends this class to write
 * each change through to socket attachments and storage).
 */
export class MemberList implements MemberStore {
  readonly #members = new Map<string, MemberEntry>()

  get size(): number {
    return this.#members.size
  }

  /** The entry of `session`, if it holds one. */
  held(session: Session<any>): MemberEntry | undefined {
    const entry = this.#members.get(session.id)
    return entry?.owner === session ? entry : undefined
  }

  /** The entry of connection id `cid`, held or released. */
  entry(cid: string): MemberEntry | undefined {
    return this.#members.get(cid)
  }

  /** Every entry, in join order. */
  entries(): IterableIterator<MemberEntry> {
    return this.#members.values()
  }

  /** Forgets entry `cid` without announcing anything (a store whose member moved elsewhere). */
  delete(cid: string): boolean {
    return this.#members.delete(cid)
  }

  /** Adds an entry at the end, as it comes (a store restoring its members adds them in join order). */
  restore(entry: MemberEntry): void {
    this.#members.set(entry.cid, entry)
  }

  list(): WireMember[] {
    const members: WireMember[] = []
    for (const { cid, uid, state } of this.#members.values()) members.push({ cid, uid, state })
    return members
  }

  state(session: Session<any>): Record<string, unknown> | undefined {
    return this.held(session)?.state
  }

  join(session: Session<any>, state: Record<string, unknown>): void {
    const entry = this.#members.get(session.id)
    if (entry) {
      entry.state = state
      entry.owner = session
      entry.until = 0
    } else this.#members.set(session.id, { cid: session.id, uid: session.userId, state, owner: session, until: 0 })
  }

  update(session: Session<any>, state: Record<string, unknown>): void {
    const entry = this.held(session)
    if (entry) entry.state = state
  }

  leave(session: Session<any>): boolean {
    if (!this.held(session)) return false
    return this.#members.delete(session.id)
  }

  release(session: Session<any>, until: number): void {
    const entry = this.held(session)
    if (!entry) return
    entry.owner = undefined
    entry.until = until
  }

  claim(cid: string, session: Session<any>, until: number): boolean {
    return this.claimed(cid, session, until) !== undefined
  }

  /** Entry `cid` becomes `session`'s until `until`; returns it with the session that held it before. */
  protected claimed(
    cid: string,
    session: Session<any>,
    until: number,
  ): { entry: MemberEntry; previous: Session<any> | undefined } | undefined {
    const entry = this.#members.get(cid)
    if (!entry) return
    const previous = entry.owner
    entry.owner = session
    entry.until = until
    return { entry, previous }
  }

  expire(now: number): { expired: ExpiredMember[]; next: number | undefined } {
    const expired: ExpiredMember[] = []
    let next: number | undefined
    for (const entry of this.#members.values()) {
      if (entry.until === 0) continue
      if (entry.until <= now) {
        this.#members.delete(entry.cid)
        expired.push({ cid: entry.cid, uid: entry.uid, state: entry.state, owner: entry.owner })
      } else if (next === undefined || entry.until < next) next = entry.until
    }
    return { expired, next }
  }

  announce(frame: Frame, except: Session<any> | undefined): void {
    for (const { owner } of this.#members.values()) if (owner && owner !== except) owner.send(frame)
  }
}
