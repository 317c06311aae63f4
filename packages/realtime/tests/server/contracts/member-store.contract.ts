/**
 * The contract of a {@link MemberStore}, written once and run against every implementation: the
 * memory store (in this process) and the Durable Object's socket attachments and grace record (in
 * real workerd). Driven through {@link MembersUnderTest}: connections by id, frames as text.
 */
import type { WireMember } from '@tanstack/realtime'
import { Frame, type MemberStore, type Session } from '@tanstack/realtime/server'
import { afterEach, describe, expect, test } from 'vitest'

/** A member store as the contract drives it. Connections are named by the test (`c1`, `c2`...). */
export interface MembersUnderTest {
  /** A new connection (a session with a socket) `conn` with connection id `cid` and user `uid`. */
  connect(conn: string, cid: string, uid: string): Promise<void>
  list(): Promise<WireMember[]>
  state(conn: string): Promise<Record<string, unknown> | undefined>
  join(conn: string, state: Record<string, unknown>): Promise<void>
  update(conn: string, state: Record<string, unknown>): Promise<void>
  leave(conn: string): Promise<boolean>
  release(conn: string, until: number): Promise<void>
  /** Connection `conn` claims the member with connection id `cid`; its session id becomes `cid`. */
  claim(cid: string, conn: string, until: number): Promise<boolean>
  /** The expired members: their ids, users and last states, and the connection that held each (or null when released). */
  expire(now: number): Promise<{ expired: ExpiredUnderTest[]; next: number | undefined }>
  announce(frame: string, except: string | null): Promise<void>
  /** Frames each connection was sent, by connection. */
  sent(): Promise<Record<string, string[]>>
  /** Reads the members again as a new instance would (after an eviction): for stores that persist. */
  reopen(): Promise<void>
  dispose(): Promise<void>
}

/** An expired member as the contract sees it: its holder named by connection (null when released). */
export interface ExpiredUnderTest {
  cid: string
  uid: string
  state: Record<string, unknown>
  owner: string | null
}

export type MembersFactory = () => Promise<MembersUnderTest>

/**
 * Registers the contract's tests.
 *
 * @param persistent - whether the members outlive the instance (then `reopen` must bring them back)
 */
export function memberStoreContract(name: string, create: MembersFactory, { persistent }: { persistent: boolean }) {
  describe(`MemberStore contract: ${name}`, () => {
    let members: MembersUnderTest | undefined
    afterEach(async () => {
      await members?.dispose()
      members = undefined
    })
    /** A store with connections c1 (alice), c2 (bob), c3 (carol). */
    const open = async () => {
      members = await create()
      for (const [conn, uid] of [
        ['c1', 'alice'],
        ['c2', 'bob'],
        ['c3', 'carol'],
      ] as const) {
        await members.connect(conn, `id-${conn}`, uid)
      }
      return members
    }

    test('lists members in join order; joining again replaces the state in place', async () => {
      const members = await open()
      await members.join('c2', { n: 2 })
      await members.join('c1', { n: 1 })
      await members.join('c2', { n: 'two' })
      expect(await members.list()).toEqual([
        { cid: 'id-c2', uid: 'bob', state: { n: 'two' } },
        { cid: 'id-c1', uid: 'alice', state: { n: 1 } },
      ])
      expect(await members.state('c2')).toEqual({ n: 'two' })
      expect(await members.state('c3')).toBeUndefined()
    })

    test('an update replaces the state and keeps the place; leave removes, once', async () => {
      const members = await open()
      await members.join('c1', { a: 1 })
      await members.join('c2', { b: 1 })
      await members.update('c1', { a: 2 })
      expect((await members.list()).map((member) => member.state)).toEqual([{ a: 2 }, { b: 1 }])
      expect(await members.leave('c1')).toBe(true)
      expect(await members.leave('c1')).toBe(false)
      expect(await members.leave('c3')).toBe(false)
      expect(await members.list()).toEqual([{ cid: 'id-c2', uid: 'bob', state: { b: 1 } }])
      expect(await members.state('c1')).toBeUndefined()
    })

    test('announce reaches every held member but the one excepted', async () => {
      const members = await open()
      await members.join('c1', {})
      await members.join('c2', {})
      await members.announce('{"t":"pres","n":1}', 'c1')
      await members.announce('{"t":"pres","n":2}', null)
      const sent = await members.sent()
      expect(sent.c1 ?? []).toEqual(['{"t":"pres","n":2}'])
      expect(sent.c2 ?? []).toEqual(['{"t":"pres","n":1}', '{"t":"pres","n":2}'])
      expect(sent.c3 ?? []).toEqual([])
    })

    test('a released member stays listed until its deadline, and receives nothing meanwhile', async () => {
      const members = await open()
      await members.join('c1', { who: 'alice' })
      await members.join('c2', { who: 'bob' })
      await members.update('c1', { who: 'alice', away: true })
      await members.release('c1', 1000)
      await members.release('c2', 2000)
      expect((await members.list()).map((member) => member.cid)).toEqual(['id-c1', 'id-c2'])
      expect(await members.state('c1')).toBeUndefined() // nobody holds it
      await members.announce('{"t":"pres"}', null)
      expect(Object.values(await members.sent()).flat()).toEqual([])
      expect(await members.expire(999)).toEqual({ expired: [], next: 1000 })
      // Its last state goes with it (for onLeave).
      const expired = { cid: 'id-c1', uid: 'alice', state: { who: 'alice', away: true }, owner: null }
      expect(await members.expire(1000)).toEqual({ expired: [expired], next: 2000 })
      expect(await members.list()).toEqual([{ cid: 'id-c2', uid: 'bob', state: { who: 'bob' } }])
    })

    test('a released member claimed by a new connection is held by it until the deadline, unless it joins again', async () => {
      const members = await open()
      await members.join('c1', { who: 'alice' })
      await members.join('c2', { who: 'bob' })
      await members.release('c1', 1000)
      await members.connect('c6', 'id-other', 'dave')
      expect(await members.claim('id-gone', 'c6', 5000)).toBe(false)
      await members.connect('c4', 'id-new', 'alice')
      expect(await members.claim('id-c1', 'c4', 5000)).toBe(true)
      expect(await members.state('c4')).toEqual({ who: 'alice' })
      expect((await members.list()).map((member) => member.cid)).toEqual(['id-c1', 'id-c2'])
      await members.announce('{"t":"pres"}', 'c2')
      expect((await members.sent()).c4).toEqual(['{"t":"pres"}'])
      // Claimed, not joined again: it lapses at the new deadline, and its holder is named.
      expect(await members.expire(1000)).toEqual({ expired: [], next: 5000 })
      const expired = { cid: 'id-c1', uid: 'alice', state: { who: 'alice' }, owner: 'c4' }
      expect(await members.expire(5000)).toEqual({ expired: [expired], next: undefined })

      // Joined again: no deadline.
      await members.join('c3', { who: 'carol' })
      await members.release('c3', 6000)
      await members.connect('c5', 'id-newer', 'carol')
      await members.claim('id-c3', 'c5', 7000)
      await members.join('c5', { who: 'carol', back: true })
      expect(await members.expire(10_000)).toEqual({ expired: [], next: undefined })
      expect(await members.list()).toEqual([
        { cid: 'id-c2', uid: 'bob', state: { who: 'bob' } },
        { cid: 'id-c3', uid: 'carol', state: { who: 'carol', back: true } },
      ])
    })

    test('a member still held by a connection not noticed dead can be claimed: the old one holds nothing', async () => {
      const members = await open()
      await members.join('c1', { who: 'alice' })
      await members.connect('c4', 'id-new', 'alice')
      expect(await members.claim('id-c1', 'c4', 5000)).toBe(true)
      expect(await members.state('c1')).toBeUndefined()
      expect(await members.state('c4')).toEqual({ who: 'alice' })
      expect(await members.leave('c1')).toBe(false)
      expect(await members.leave('c4')).toBe(true)
      expect(await members.list()).toEqual([])
    })

    if (persistent) {
      test('persisted members come back: order, states, holders, released ones, deadlines', async () => {
        const members = await open()
        await members.join('c3', { n: 3 })
        await members.join('c1', { n: 1 })
        await members.join('c2', { n: 2 })
        await members.release('c1', 1000)
        await members.connect('c4', 'id-new', 'carol')
        await members.claim('id-c3', 'c4', 3000)
        await members.reopen()
        expect(await members.list()).toEqual([
          { cid: 'id-c3', uid: 'carol', state: { n: 3 } },
          { cid: 'id-c1', uid: 'alice', state: { n: 1 } },
          { cid: 'id-c2', uid: 'bob', state: { n: 2 } },
        ])
        expect(await members.state('c4')).toEqual({ n: 3 })
        expect(await members.state('c2')).toEqual({ n: 2 })
        const released = { cid: 'id-c1', uid: 'alice', state: { n: 1 }, owner: null }
        expect(await members.expire(1000)).toEqual({ expired: [released], next: 3000 })
        const claimed = { cid: 'id-c3', uid: 'carol', state: { n: 3 }, owner: 'c4' }
        expect(await members.expire(3000)).toEqual({ expired: [claimed], next: undefined })
      })
    }
  })
}

/**
 * The contract's connections over a store's {@link MemberStore}: each connection is a session that
 * records the frames it is sent. `reopen` and `dispose` are the store's own.
 */
export function driveMembers(
  members: MemberStore,
  { reopen, dispose }: Pick<MembersUnderTest, 'reopen' | 'dispose'>,
): MembersUnderTest {
  const sessions = new Map<string, Session>()
  const names = new Map<Session, string>()
  const sent: Record<string, string[]> = {}
  const session = (conn: string) => sessions.get(conn) as Session
  return {
    async connect(conn, cid, uid) {
      sent[conn] = []
      const made = {
        id: cid,
        userId: uid,
        resumeToken: `token-${conn}`,
        open: true,
        send: (frame: Frame) => sent[conn]?.push(frame.text),
      }
      sessions.set(conn, made as unknown as Session)
      names.set(made as unknown as Session, conn)
    },
    list: async () => members.list(),
    state: async (conn) => members.state(session(conn)),
    join: async (conn, state) => members.join(session(conn), state),
    update: async (conn, state) => members.update(session(conn), state),
    leave: async (conn) => members.leave(session(conn)),
    release: async (conn, until) => members.release(session(conn), until),
    async claim(cid, conn, until) {
      // As a takeover does: the claiming session takes the connection id first.
      session(conn).id = cid
      return members.claim(cid, session(conn), until)
    },
    async expire(now) {
      const { expired, next } = await members.expire(now)
      return {
        expired: expired.map(({ cid, uid, state, owner }) => ({
          cid,
          uid,
          state,
          owner: owner ? (names.get(owner) ?? '?') : null,
        })),
        next,
      }
    },
    announce: async (text, except) => members.announce(new Frame(text), except === null ? undefined : session(except)),
    sent: async () => sent,
    reopen,
    dispose,
  }
}
