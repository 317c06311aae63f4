import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { InvalidError } from '../../src/errors.js'
import { fakeServer, flush } from './fakes.js'

// The channel semantics, through sessions, over fake ports and a fake clock: each runs in
// milliseconds. The conformance suite runs the same behaviour end to end on both presets.

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

const FEED = '["feed"]'
const ROOM = '["room"]'

describe('subscribe and publish', () => {
  test('a subscribe is acked with the position; every publish then reaches each subscriber once', async () => {
    const server = fakeServer()
    const alice = server.connect('alice')
    const bob = server.connect('bob')
    alice.send({ t: 'sub', id: 1, ch: FEED })
    bob.send({ t: 'pub', id: 1, ch: FEED, data: { n: 1 } })
    expect(alice.answers()).toEqual([{ t: 'ack', id: 1, seq: 0, epoch: 'epoch-1' }])
    expect(bob.answers()).toEqual([{ t: 'ack', id: 1, seq: 1 }])
    expect(alice.frames.filter((frame) => frame.t === 'msg')).toEqual([{ t: 'msg', ch: FEED, seq: 1, data: { n: 1 } }])
    alice.send({ t: 'unsub', id: 2, ch: FEED })
    await server.core.publish(FEED, 2)
    expect(alice.frames.filter((frame) => frame.t === 'msg')).toHaveLength(1)
  })

  test('a resume replays what was missed, or resets when the epoch, the position or the history does not match', () => {
    const server = fakeServer({ historySize: 3 })
    for (let n = 1; n <= 5; n++) server.core.publish(FEED, n)
    const client = server.connect('alice')
    const resume = (id: number, since: { seq: number; epoch: string }) => {
      client.frames.length = 0
      client.send({ t: 'sub', id, ch: FEED, since })
      return client.frames.map((frame) => (frame.t === 'msg' ? frame.seq : frame))
    }
    expect(resume(1, { seq: 3, epoch: 'epoch-1' })).toEqual([4, 5, { t: 'ack', id: 1, seq: 5, epoch: 'epoch-1' }])
    expect(resume(2, { seq: 5, epoch: 'epoch-1' })).toEqual([{ t: 'ack', id: 2, seq: 5, epoch: 'epoch-1' }])
    const reset = { seq: 5, epoch: 'epoch-1', reset: true }
    expect(resume(3, { seq: 3, epoch: 'other' })).toEqual([{ t: 'ack', id: 3, ...reset }])
    expect(resume(4, { seq: 9, epoch: 'epoch-1' })).toEqual([{ t: 'ack', id: 4, ...reset }])
    expect(resume(5, { seq: 1, epoch: 'epoch-1' })).toEqual([{ t: 'ack', id: 5, ...reset }]) // 2 is gone
  })

  test('messages published while the replay is read follow the ack, once each, in order', async () => {
    const server = fakeServer()
    const feed = server.channel(FEED)
    for (let n = 1; n <= 3; n++) server.core.publish(FEED, n)
    feed.gate.slow = true
    const client = server.connect('alice')
    const done = client.send({ t: 'sub', id: 1, ch: FEED, since: { seq: 1, epoch: 'epoch-1' } })
    server.core.publish(FEED, 4) // lands between the read and the ack
    feed.gate.release()
    server.core.publish(FEED, 5)
    await done
    expect(client.frames.map((frame) => (frame.t === 'msg' ? frame.seq : frame.t))).toEqual([2, 3, 4, 'ack', 5])
  })

  test('a rewind sends up to that many of the newest kept messages before the ack', () => {
    const server = fakeServer({ historySize: 4 })
    for (let n = 1; n <= 6; n++) server.core.publish(FEED, n)
    const client = server.connect('alice')
    client.send({ t: 'sub', id: 1, ch: FEED, rewind: 2 })
    client.send({ t: 'sub', id: 2, ch: '["empty"]', rewind: 5 })
    client.send({ t: 'unsub', id: 3, ch: FEED })
    client.send({ t: 'sub', id: 4, ch: FEED, rewind: 50 })
    const seen = client.frames.map((frame) => (frame.t === 'msg' ? frame.seq : `ack ${frame.id}`))
    expect(seen).toEqual([5, 6, 'ack 1', 'ack 2', 'ack 3', 3, 4, 5, 6, 'ack 4'])
  })

  test('an idempotency key applies a publish once; the retry is acked with the first seq and broadcasts nothing', () => {
    const server = fakeServer()
    const watcher = server.connect('watcher')
    watcher.send({ t: 'sub', id: 1, ch: FEED })
    const client = server.connect('alice')
    client.send({ t: 'pub', id: 1, ch: FEED, data: 'a', idem: 'k' })
    client.send({ t: 'pub', id: 2, ch: FEED, data: 'b', idem: 'k' })
    expect(client.answers()).toEqual([
      { t: 'ack', id: 1, seq: 1 },
      { t: 'ack', id: 2, seq: 1 },
    ])
    expect(watcher.frames.filter((frame) => frame.t === 'msg').map((frame) => frame.data)).toEqual(['a'])
  })

  test('a publish is checked for size, then permission', async () => {
    const server = fakeServer({ maxMessageBytes: 10, permissions: () => ({ subscribe: true }) })
    const client = server.connect('alice')
    client.send({ t: 'pub', id: 1, ch: FEED, data: 'x'.repeat(20) })
    client.send({ t: 'pub', id: 2, ch: FEED, data: 'ok' })
    expect(client.answers().map((frame) => frame.code)).toEqual(['too_large', 'forbidden'])
    expect(() => server.core.publish(FEED, 'x'.repeat(20))).toThrow(/maxMessageBytes/)
    expect(() => server.core.publish(FEED, undefined)).toThrow(InvalidError)
  })

  test('at most maxChannels channels per session, subscribed or present, each counted once', () => {
    const server = fakeServer({ maxChannels: 2 })
    const client = server.connect('alice')
    client.send({ t: 'sub', id: 1, ch: '["a"]' })
    client.send({ t: 'pjoin', id: 2, ch: '["a"]', state: {} })
    client.send({ t: 'pjoin', id: 3, ch: '["b"]', state: {} })
    client.send({ t: 'sub', id: 4, ch: '["c"]' })
    client.send({ t: 'sub', id: 5, ch: '["b"]' })
    expect(client.answers().map((frame) => frame.code ?? frame.t)).toEqual([
      'ack',
      'ack',
      'ack',
      'limit_exceeded',
      'ack',
    ])
  })
})

describe('presence', () => {
  test('join, update and leave reach the other members, never the one who caused them', () => {
    const server = fakeServer()
    const alice = server.connect('alice', 'a')
    const bob = server.connect('bob', 'b')
    alice.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'A' } })
    bob.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'B' } })
    expect(bob.answers()[0].members).toEqual([
      { cid: 'a', uid: 'alice', state: { name: 'A' } },
      { cid: 'b', uid: 'bob', state: { name: 'B' } },
    ])
    bob.send({ t: 'pset', id: 2, ch: ROOM, patch: { cursor: 1 } })
    bob.send({ t: 'pleave', id: 3, ch: ROOM })
    expect(
      alice.frames.filter((frame) => frame.t === 'pres').map((frame) => [frame.ev, frame.cid ?? frame.m.cid]),
    ).toEqual([
      ['join', 'b'],
      ['update', 'b'],
      ['leave', 'b'],
    ])
    expect(bob.frames.filter((frame) => frame.t === 'pres')).toEqual([])
  })

  test('an update before joining is invalid; a merged state past maxPresenceBytes is too large', () => {
    const server = fakeServer({ maxPresenceBytes: 30 })
    const client = server.connect('alice')
    client.send({ t: 'pset', id: 1, ch: ROOM, patch: { a: 1 } })
    client.send({ t: 'pjoin', id: 2, ch: ROOM, state: { name: 'x'.repeat(10) } })
    client.send({ t: 'pset', id: 3, ch: ROOM, patch: { more: 'y'.repeat(10) } })
    expect(client.answers().map((frame) => frame.code ?? frame.t)).toEqual(['invalid', 'ack', 'too_large'])
  })

  test('a dropped member stays for the grace period, then leaves; one that said goodbye leaves at once', () => {
    const server = fakeServer({ presenceGraceMs: 1000 })
    const watcher = server.connect('watcher', 'w')
    watcher.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    const dropped = server.connect('alice', 'a')
    dropped.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    const polite = server.connect('bob', 'b')
    polite.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    const leaves = () => watcher.frames.filter((frame) => frame.ev === 'leave').map((frame) => frame.cid)
    dropped.session.closed(1006)
    polite.session.closed(1000)
    expect(leaves()).toEqual(['b'])
    vi.advanceTimersByTime(999)
    expect(leaves()).toEqual(['b'])
    vi.advanceTimersByTime(1)
    expect(leaves()).toEqual(['b', 'a'])
    expect(
      server
        .channel(ROOM)
        .members.list()
        .map((member) => member.cid),
    ).toEqual(['w'])
  })

  test('a resume within the grace period takes the connection over: same id, no leave, no join', () => {
    const server = fakeServer({ presenceGraceMs: 1000 })
    const watcher = server.connect('watcher', 'w')
    watcher.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    const first = server.connect('alice', 'a')
    first.send({ t: 'pjoin', id: 1, ch: ROOM, state: { v: 1 } })
    first.session.closed(1006)
    vi.advanceTimersByTime(500)
    const back = server.connect('alice')
    const candidate = { cid: 'a', uid: 'alice', channels: first.session.presence ?? [] }
    expect(back.session.takeOver(candidate)).toBe(true)
    expect(back.session.id).toBe('a')
    back.send({ t: 'pjoin', id: 1, ch: ROOM, state: { v: 2 } })
    vi.advanceTimersByTime(5000)
    expect(watcher.frames.filter((frame) => frame.t === 'pres').map((frame) => frame.ev)).toEqual(['join', 'join'])
    expect(server.channel(ROOM).members.list()).toEqual([
      { cid: 'w', uid: 'watcher', state: {} },
      { cid: 'a', uid: 'alice', state: { v: 2 } },
    ])
    // Another user's session cannot take it over.
    expect(server.connect('mallory').session.takeOver({ ...candidate, uid: 'alice-not' })).toBe(false)
  })

  test('presence taken over but not joined again lapses at the end of the grace period', () => {
    const server = fakeServer({ presenceGraceMs: 1000 })
    const watcher = server.connect('watcher', 'w')
    watcher.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    const first = server.connect('alice', 'a')
    first.send({ t: 'pjoin', id: 1, ch: ROOM, state: {} })
    // The first socket is half-dead, not noticed yet: the new one takes it over and closes it.
    const back = server.connect('alice')
    back.session.takeOver({ cid: 'a', uid: 'alice', channels: [ROOM], session: first.session })
    expect(first.closes).toEqual([{ code: 4009, reason: 'replaced by a newer connection' }])
    expect(watcher.frames.filter((frame) => frame.ev === 'leave')).toEqual([])
    vi.advanceTimersByTime(1000)
    expect(watcher.frames.filter((frame) => frame.ev === 'leave').map((frame) => frame.cid)).toEqual(['a'])
    expect(back.session.presence?.size).toBe(0)
  })
})

describe('collections', () => {
  const TODOS = '["todos",{"list":"a"}]'

  test('a snapshot carries the position read before loading; load must return an array', async () => {
    let rows: unknown = [{ id: 1 }]
    const server = fakeServer({ collections: { todos: { load: async () => rows as never[] } } })
    server.core.publish(TODOS, { changes: [] })
    const client = server.connect('alice')
    const done = client.send({ t: 'snap', id: 1, ch: TODOS })
    server.core.publish(TODOS, { changes: [] }) // while loading: delivered on the channel, after the snapshot's position
    await done
    rows = 'not rows'
    await client.send({ t: 'snap', id: 2, ch: TODOS })
    expect(client.answers()).toEqual([
      { t: 'ack', id: 1, rows: [{ id: 1 }], seq: 1, epoch: 'epoch-1' },
      { t: 'err', id: 2, code: 'internal', msg: 'The server failed to load the collection.' },
    ])
    expect(server.reported).toHaveLength(1)
  })

  test("a channel's writes run one at a time; a RealtimeError reaches the client as it is; read-only is forbidden", async () => {
    const applied: string[] = []
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const server = fakeServer({
      collections: {
        todos: {
          load: () => [],
          async write(ops) {
            const key = String(ops[0]?.key)
            if (key === 'bad') throw new InvalidError('No.')
            applied.push(`start ${key}`)
            if (key === 'slow') await held
            applied.push(`end ${key}`)
            return undefined
          },
        },
        fixed: { load: () => [] },
      },
    })
    const alice = server.connect('alice')
    const bob = server.connect('bob')
    const slow = alice.send({ t: 'write', id: 1, ch: TODOS, ops: [{ type: 'delete', key: 'slow' }] })
    const fast = bob.send({ t: 'write', id: 1, ch: TODOS, ops: [{ type: 'delete', key: 'fast' }] })
    await flush()
    expect(applied).toEqual(['start slow'])
    release()
    await Promise.all([slow, fast])
    expect(applied).toEqual(['start slow', 'end slow', 'start fast', 'end fast'])
    expect([alice.answers()[0].seq, bob.answers()[0].seq]).toEqual([1, 2])
    await bob.send({ t: 'write', id: 2, ch: TODOS, ops: [{ type: 'delete', key: 'bad' }] })
    bob.send({ t: 'write', id: 3, ch: '["fixed"]', ops: [{ type: 'delete', key: 1 }] })
    bob.send({ t: 'snap', id: 4, ch: '["nothing"]' })
    expect(bob.answers().slice(1)).toEqual([
      { t: 'err', id: 2, code: 'invalid', msg: 'No.' },
      { t: 'err', id: 3, code: 'forbidden', msg: 'The collection "fixed" is read-only.' },
      { t: 'err', id: 4, code: 'invalid', msg: 'No collection is served on channel "nothing".' },
    ])
  })

  test('a write with an idempotency key runs its handler once', async () => {
    let calls = 0
    const server = fakeServer({
      collections: {
        todos: {
          load: () => [],
          write: () => {
            calls++
            return undefined
          },
        },
      },
    })
    const client = server.connect('alice')
    const write = { t: 'write', ch: TODOS, ops: [{ type: 'delete', key: 1 }], idem: 'w' }
    await client.send({ ...write, id: 1 })
    await client.send({ ...write, id: 2 })
    expect(calls).toBe(1)
    expect(client.answers()).toEqual([
      { t: 'ack', id: 1, seq: 1, epoch: 'epoch-1' },
      { t: 'ack', id: 2, seq: 1, epoch: 'epoch-1' },
    ])
  })
})
