import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { z } from 'zod'
import { defineChannel, presenceChannel } from '../../src/channel.js'
import { deferred } from '../../src/deferred.js'
import { ForbiddenError, InvalidError, InvalidOptionsError, ValidationError } from '../../src/errors.js'
import { DROP, defineServerChannel } from '../../src/server/channel/server-channel.js'
import { createRealtimeEngine } from '../../src/server/engine.js'
import { type FakeClient, type FakeServerOptions, fakeServer, flush } from './fakes.js'

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

const CHAT = '["chat",{"roomId":"1"}]'

/** The data of the messages `client` received. */
const received = (client: FakeClient) => client.frames.filter((frame) => frame.t === 'msg').map((frame) => frame.data)
/** The presence frames `client` received. */
const presenceFrames = (client: FakeClient) => client.frames.filter((frame) => frame.t === 'pres')
/** An answer in short: `ack`, or its code and the paths of its issues (`invalid:text`). */
const outcome = (answer: any): string =>
  answer.t === 'ack'
    ? 'ack'
    : [answer.code, ...(answer.issues ?? []).map((issue: any) => issue.path.join('.') || '(root)')].join(':')

describe('channel schemas', () => {
  test('a params schema refuses sub, pub and pjoin with its issues, and lets valid params through', async () => {
    const chat = defineChannel('chat', { params: z.object({ roomId: z.string() }) })
    const server = fakeServer({ channels: [chat] })
    const client = server.connect('alice')
    const wrong = '["chat",{"roomId":1}]'
    await client.send({ t: 'sub', id: 1, ch: wrong })
    await client.send({ t: 'pub', id: 2, ch: wrong, data: 'x' })
    await client.send({ t: 'pjoin', id: 3, ch: '["chat"]', state: {} })
    await client.send({ t: 'sub', id: 4, ch: CHAT })
    await client.send({ t: 'pub', id: 5, ch: CHAT, data: 'x' })
    await client.send({ t: 'pjoin', id: 6, ch: CHAT, state: {} })
    expect(client.answers().map(outcome)).toEqual([
      'invalid:roomId',
      'invalid:roomId',
      'invalid:(root)',
      'ack',
      'ack',
      'ack',
    ])
    expect(client.answers()[0].msg).toMatch(/^Invalid channel params \(the channel's schema\): roomId: /)
    expect(server.channel(wrong).log.seq).toBe(0)
  })

  test('a message schema refuses a bad publish with its issues, broadcasts nothing, and stores its output', async () => {
    const NOTES = '["notes"]'
    const notes = defineChannel('notes', {
      message: z.object({ text: z.string().trim().min(1), tag: z.string().default('none') }),
    })
    const server = fakeServer({ channels: [notes] })
    const watcher = server.connect('watcher')
    watcher.send({ t: 'sub', id: 1, ch: NOTES })
    const client = server.connect('alice')
    await client.send({ t: 'pub', id: 1, ch: NOTES, data: { text: 5 } })
    await client.send({ t: 'pub', id: 2, ch: NOTES, data: { text: '   ' } })
    await client.send({ t: 'pub', id: 3, ch: NOTES, data: { text: '  hi  ', extra: true } })
    expect(client.answers().map(outcome)).toEqual(['invalid:text', 'invalid:text', 'ack'])
    expect(client.answers()[0].msg).toMatch(/^Invalid message \(the channel's schema\): text: /)
    expect(received(watcher)).toEqual([{ text: 'hi', tag: 'none' }])
    expect((await server.core.history(NOTES)).messages).toEqual([{ seq: 1, data: { text: 'hi', tag: 'none' } }])
  })

  test('a publish schema checks what clients send, the message schema does not', async () => {
    const chat = defineChannel('chat', {
      publish: z.object({ text: z.string() }),
      message: z.object({ text: z.string(), from: z.string() }),
    })
    const server = fakeServer({ channels: [chat] })
    const client = server.connect('alice')
    await client.send({ t: 'pub', id: 1, ch: '["chat"]', data: { text: 'hi' } })
    await client.send({ t: 'pub', id: 2, ch: '["chat"]', data: { from: 'x' } })
    expect(client.answers().map(outcome)).toEqual(['ack', 'invalid:text'])
  })
})

describe('onPublish', () => {
  const chat = defineChannel('chat', {
    params: z.object({ roomId: z.string() }),
    publish: z.object({ text: z.string() }),
    message: z.object({ text: z.string(), from: z.string() }),
  })
  type ChatHooks = Parameters<typeof defineServerChannel<typeof chat, string>>[1]

  /** A server whose chat channel has `onPublish`, a subscribed watcher, and alice (connection `a`). */
  const withHook = (onPublish: ChatHooks['onPublish'], options: FakeServerOptions = {}) => {
    const server = fakeServer({ channels: [defineServerChannel(chat, { onPublish })], ...options })
    const watcher = server.connect('watcher')
    watcher.send({ t: 'sub', id: 1, ch: CHAT })
    return { server, watcher, alice: server.connect('alice', 'a') }
  }

  test('its result is delivered; undefined delivers the data as is; DROP acks without seq and delivers nothing', async () => {
    const contexts: unknown[] = []
    const { watcher, alice } = withHook((context) => {
      contexts.push(context)
      if (context.data.text === 'drop') return DROP
      if (context.data.text === 'as is') return undefined
      return { text: context.data.text.toUpperCase(), from: context.userId }
    })
    await alice.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'hi' } })
    await alice.send({ t: 'pub', id: 2, ch: CHAT, data: { text: 'drop' } })
    await alice.send({ t: 'pub', id: 3, ch: CHAT, data: { text: 'as is', from: 'stripped by the schema' } })
    expect(alice.answers()).toEqual([
      { t: 'ack', id: 1, seq: 1 },
      { t: 'ack', id: 2 },
      { t: 'ack', id: 3, seq: 2 },
    ])
    expect(received(watcher)).toEqual([{ text: 'HI', from: 'alice' }, { text: 'as is' }])
    expect(contexts[0]).toEqual({
      channel: ['chat', { roomId: '1' }],
      params: { roomId: '1' },
      userId: 'alice',
      connectionId: 'a',
      identity: 'alice',
      data: { text: 'hi' },
    })
  })

  test('a publish resent with its idempotency key is answered with its first seq; onPublish does not run again', async () => {
    let calls = 0
    const { watcher, alice } = withHook(({ data, userId }) => {
      calls++
      return { ...data, from: userId }
    })
    const publish = { t: 'pub', ch: CHAT, data: { text: 'once' }, idem: 'k' }
    await alice.send({ ...publish, id: 1 })
    await alice.send({ ...publish, id: 2 })
    expect(calls).toBe(1)
    expect(alice.answers()).toEqual([
      { t: 'ack', id: 1, seq: 1 },
      { t: 'ack', id: 2, seq: 1 },
    ])
    expect(received(watcher)).toEqual([{ text: 'once', from: 'alice' }])
  })

  test('a hook that throws is answered internal and reported; a RealtimeError it throws is answered with its code', async () => {
    const { server, watcher, alice } = withHook(({ data, userId }) => {
      if (data.text === 'boom') throw new Error('boom')
      if (data.text === 'muted') throw new ForbiddenError('You are muted.')
      if (data.text === 'rude') throw new ValidationError('Be nice.', [{ message: 'Rude word', path: ['text'] }])
      return { ...data, from: userId }
    })
    for (const [index, text] of ['boom', 'muted', 'rude', 'fine'].entries()) {
      await alice.send({ t: 'pub', id: index + 1, ch: CHAT, data: { text } })
    }
    expect(alice.answers()).toEqual([
      { t: 'err', id: 1, code: 'internal', msg: `The server's onPublish of channel "chat" failed.` },
      { t: 'err', id: 2, code: 'forbidden', msg: 'You are muted.' },
      { t: 'err', id: 3, code: 'invalid', msg: 'Be nice.', issues: [{ message: 'Rude word', path: ['text'] }] },
      { t: 'ack', id: 4, seq: 1 },
    ])
    expect(server.reported.map((error) => (error as Error).message)).toEqual(['boom'])
    expect(received(watcher)).toEqual([{ text: 'fine', from: 'alice' }])
  })

  test("a hook result that is not JSON is the server's mistake: answered internal and reported", async () => {
    const { server, watcher, alice } = withHook(({ data, userId }) =>
      data.text === 'bad' ? ({ text: data.text, from: userId, n: 10n } as never) : { ...data, from: userId },
    )
    await alice.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'bad' } })
    await alice.send({ t: 'pub', id: 2, ch: CHAT, data: { text: 'good' } })
    expect(alice.answers()).toEqual([
      { t: 'err', id: 1, code: 'internal', msg: 'The server shaped an invalid payload.' },
      { t: 'ack', id: 2, seq: 1 },
    ])
    expect(server.reported).toHaveLength(1)
    expect(received(watcher)).toEqual([{ text: 'good', from: 'alice' }])
  })

  test('a hook past hookTimeoutMs is answered internal and reported; the channel moves on', async () => {
    const { server, alice } = withHook(
      ({ data, userId }) => (data.text === 'stuck' ? new Promise<never>(() => {}) : { ...data, from: userId }),
      { hookTimeoutMs: 50 },
    )
    const bob = server.connect('bob')
    const stuck = alice.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'stuck' } })
    const behind = bob.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'behind' } })
    await flush()
    await vi.advanceTimersByTimeAsync(49)
    expect([...alice.answers(), ...bob.answers()]).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    await Promise.all([stuck, behind])
    expect(alice.answers()).toEqual([
      {
        t: 'err',
        id: 1,
        code: 'internal',
        msg: 'onPublish of channel "chat" did not settle within hookTimeoutMs (50 ms).',
      },
    ])
    expect(bob.answers()).toEqual([{ t: 'ack', id: 1, seq: 1 }])
    expect(server.reported.map((error) => (error as Error).name)).toEqual(['HookTimeout'])
  })

  test("one channel's hooks run one at a time in arrival order; another channel's do not wait for them", async () => {
    const gate = deferred()
    const log: string[] = []
    const { server, watcher, alice } = withHook(async ({ data, userId }) => {
      log.push(`start ${data.text}`)
      if (data.text === 'first') await gate.promise
      log.push(`end ${data.text}`)
      return { ...data, from: userId }
    })
    const bob = server.connect('bob')
    const carol = server.connect('carol')
    const first = alice.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'first' } })
    const second = bob.send({ t: 'pub', id: 1, ch: CHAT, data: { text: 'second' } })
    await carol.send({ t: 'pub', id: 1, ch: '["chat",{"roomId":"2"}]', data: { text: 'elsewhere' } })
    expect(carol.answers()).toEqual([{ t: 'ack', id: 1, seq: 1 }])
    expect(log).toEqual(['start first', 'start elsewhere', 'end elsewhere'])
    gate.resolve()
    await Promise.all([first, second])
    expect(log.slice(3)).toEqual(['end first', 'start second', 'end second'])
    expect([alice.answers(), bob.answers()]).toEqual([[{ t: 'ack', id: 1, seq: 1 }], [{ t: 'ack', id: 1, seq: 2 }]])
    expect(received(watcher)).toEqual([
      { text: 'first', from: 'alice' },
      { text: 'second', from: 'bob' },
    ])
  })
})

describe('presence schemas and hooks', () => {
  const room = presenceChannel('room', { state: v.object({ name: v.string(), cursor: v.optional(v.number()) }) })
  type RoomHooks = Parameters<typeof defineServerChannel<typeof room, string>>[1]

  /** A server whose room has the valibot state schema (and `hooks`), and a watcher (`w`) present in it. */
  const withHooks = async (hooks?: RoomHooks, options: FakeServerOptions = {}) => {
    const server = fakeServer({ channels: [hooks ? defineServerChannel(room, hooks) : room], ...options })
    const watcher = server.connect('watcher', 'w')
    await watcher.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'W' } })
    /** A client `uid` (connection `cid`) present in the room with `{ name: uid }`. */
    const join = async (uid: string, cid: string) => {
      const client = server.connect(uid, cid)
      await client.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: uid } })
      return client
    }
    return { server, watcher, join }
  }
  const leaves = (client: FakeClient) =>
    presenceFrames(client)
      .filter((frame) => frame.ev === 'leave')
      .map((frame) => frame.cid)

  test('a state schema refuses a join and an update with its issues; nothing is announced', async () => {
    const { server, watcher } = await withHooks()
    const alice = server.connect('alice', 'a')
    await alice.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 1 } })
    await alice.send({ t: 'pjoin', id: 2, ch: ROOM, state: { name: 'A' } })
    await alice.send({ t: 'pset', id: 3, ch: ROOM, patch: { cursor: 'far' } })
    expect(alice.answers().map(outcome)).toEqual(['invalid:name', 'ack', 'invalid:cursor'])
    expect(alice.answers()[0].msg).toMatch(/^Invalid presence state \(the channel's schema\): name: /)
    expect(presenceFrames(watcher).map((frame) => frame.ev)).toEqual(['join'])
    expect(await server.core.members(ROOM)).toEqual([
      { cid: 'w', uid: 'watcher', state: { name: 'W' } },
      { cid: 'a', uid: 'alice', state: { name: 'A' } },
    ])
  })

  test('onJoin may replace the state: the ack lists it, the others see it; rejoin tells a second join', async () => {
    const rejoins: boolean[] = []
    const { server, watcher } = await withHooks({
      onJoin: ({ state, rejoin, userId }) => {
        rejoins.push(rejoin)
        return userId === 'watcher' ? undefined : { name: `${state.name} (${userId})` }
      },
    })
    const alice = server.connect('alice', 'a')
    await alice.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'A' } })
    await alice.send({ t: 'pjoin', id: 2, ch: ROOM, state: { name: 'A2' } })
    expect(rejoins).toEqual([false, false, true])
    expect(alice.answers()[0].members).toEqual([
      { cid: 'w', uid: 'watcher', state: { name: 'W' } },
      { cid: 'a', uid: 'alice', state: { name: 'A (alice)' } },
    ])
    expect(presenceFrames(watcher).map((frame) => [frame.ev, frame.m.state])).toEqual([
      ['join', { name: 'A (alice)' }],
      ['join', { name: 'A2 (alice)' }],
    ])
  })

  test('an update the schema or onUpdate reshapes reaches the others whole (a join); a plain patch as an update', async () => {
    const updates: unknown[] = []
    const { server, watcher } = await withHooks({
      onUpdate: ({ state, previous, patch }) => {
        updates.push({ state, previous, patch })
        return state.cursor !== undefined && state.cursor > 100 ? { ...state, cursor: 100 } : undefined
      },
    })
    const alice = server.connect('alice', 'a')
    await alice.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'A' } })
    await alice.send({ t: 'pset', id: 2, ch: ROOM, patch: { cursor: 1 } })
    await alice.send({ t: 'pset', id: 3, ch: ROOM, patch: { cursor: 500 } }) // clamped by onUpdate
    await alice.send({ t: 'pset', id: 4, ch: ROOM, patch: { color: 'red' } }) // not in the schema: stripped
    const whole = { t: 'pres', ch: ROOM, ev: 'join', m: { cid: 'a', uid: 'alice', state: { name: 'A', cursor: 100 } } }
    expect(presenceFrames(watcher).slice(1)).toEqual([
      { t: 'pres', ch: ROOM, ev: 'update', cid: 'a', patch: { cursor: 1 } },
      whole,
      whole,
    ])
    expect(updates[1]).toEqual({
      state: { name: 'A', cursor: 500 },
      previous: { name: 'A', cursor: 1 },
      patch: { cursor: 500 },
    })
    // The member itself gets the reshaped state in the ack (its own view agrees); a plain patch gets a bare ack.
    expect(alice.answers().slice(1)).toEqual([
      { t: 'ack', id: 2 },
      { t: 'ack', id: 3, state: whole.m.state },
      { t: 'ack', id: 4, state: whole.m.state },
    ])
    expect(await server.core.members(ROOM)).toContainEqual(whole.m)
  })

  test('onLeave runs after a leave, a goodbye and a grace expiry (identity undefined, last state), not a takeover', async () => {
    const left: unknown[] = []
    const { server, watcher, join } = await withHooks(
      {
        onLeave: ({ connectionId, userId, identity, state, params }) => {
          left.push({ connectionId, userId, identity, state, params })
        },
      },
      { presenceGraceMs: 1000 },
    )
    const alice = await join('alice', 'a')
    await alice.send({ t: 'pleave', id: 2, ch: ROOM })
    const bob = await join('bob', 'b')
    bob.session.closed(1000)
    const carol = await join('carol', 'c')
    await carol.send({ t: 'pset', id: 2, ch: ROOM, patch: { cursor: 7 } })
    carol.session.closed(1006)
    // Dave drops and resumes within the grace period; Erin's half-dead socket is replaced: neither leaves.
    const dave = await join('dave', 'd')
    dave.session.closed(1006)
    const erin = await join('erin', 'e')
    const daveBack = server.connect('dave')
    await daveBack.session.takeOver({ cid: 'd', uid: 'dave', channels: dave.session.presence ?? [] })
    await daveBack.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'dave' } })
    const erinBack = server.connect('erin')
    await erinBack.session.takeOver({ cid: 'e', uid: 'erin', channels: [ROOM], session: erin.session })
    await erinBack.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'erin' } })
    await flush()
    const member = (uid: string, identity: string | undefined, state: object) => ({
      connectionId: uid[0],
      userId: uid,
      identity,
      state,
      params: undefined,
    })
    expect(left).toEqual([member('alice', 'alice', { name: 'alice' }), member('bob', 'bob', { name: 'bob' })])
    await vi.advanceTimersByTimeAsync(1000)
    await flush()
    expect(left.slice(2)).toEqual([member('carol', undefined, { name: 'carol', cursor: 7 })])
    await vi.advanceTimersByTimeAsync(5000)
    await flush()
    expect(left).toHaveLength(3)
    expect(leaves(watcher)).toEqual(['a', 'b', 'c'])
    expect((await server.core.members(ROOM)).map((entry) => entry.cid)).toEqual(['w', 'd', 'e'])
  })

  test('an onLeave that throws is reported and breaks nothing', async () => {
    const { server, watcher, join } = await withHooks({
      onLeave: ({ userId }) => {
        throw userId === 'alice' ? new Error('audit is down') : new ForbiddenError('typed, still a failure')
      },
    })
    const alice = await join('alice', 'a')
    await alice.send({ t: 'pleave', id: 2, ch: ROOM })
    const bob = await join('bob', 'b')
    bob.session.closed(1000)
    await flush()
    await alice.send({ t: 'pjoin', id: 3, ch: ROOM, state: { name: 'again' } })
    expect(alice.answers().map(outcome)).toEqual(['ack', 'ack', 'ack'])
    expect(leaves(watcher)).toEqual(['a', 'b'])
    expect(server.reported.map((error) => (error as Error).message)).toEqual([
      'audit is down',
      'typed, still a failure',
    ])
  })

  test('a join or update whose hook still runs when its client goes leaves no member and announces nothing', async () => {
    const gate = deferred()
    const { server, watcher, join } = await withHooks({
      onJoin: async ({ userId }) => {
        if (userId === 'alice' || userId === 'bob') await gate.promise
      },
      onUpdate: async ({ state }) => {
        await gate.promise
        return { ...state, name: 'reshaped' }
      },
    })
    const carol = await join('carol', 'c')
    const alice = server.connect('alice', 'a')
    const bob = server.connect('bob', 'b')
    const pending = [
      alice.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'x' } }),
      bob.send({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'x' } }),
      carol.send({ t: 'pset', id: 2, ch: ROOM, patch: { cursor: 1 } }),
    ]
    await flush()
    alice.session.closed(1000) // goodbye
    bob.session.closed(1006) // dropped: its presence would stay for the grace period
    carol.session.closed(1000)
    gate.resolve()
    await Promise.all(pending)
    await flush()
    await vi.advanceTimersByTimeAsync(5000)
    expect(await server.core.members(ROOM)).toEqual([{ cid: 'w', uid: 'watcher', state: { name: 'W' } }])
    expect(presenceFrames(watcher).map((frame) => `${frame.ev} ${frame.cid ?? frame.m.cid}`)).toEqual([
      'join c',
      'leave c',
    ])
  })
})

test("server-side reads: the engine's getPresence and getHistory", async () => {
  const engine = createRealtimeEngine<string>({ rateLimit: false })
  const frames: any[] = []
  const connection = engine.connect('alice', { send: (frame) => frames.push(JSON.parse(frame.text)), close: () => {} })
  connection.receive(JSON.stringify({ t: 'pjoin', id: 1, ch: ROOM, state: { name: 'A' } }))
  for (let n = 1; n <= 3; n++) await engine.publish(['feed'], { n })
  await flush()
  expect(frames.at(-1)).toMatchObject({ t: 'ack', id: 1 })
  expect(await engine.getPresence(['room'])).toEqual([
    { connectionId: connection.id, userId: 'alice', state: { name: 'A' } },
  ])
  const history = [1, 2, 3].map((n) => ({ seq: n, data: { n } }))
  expect(await engine.getHistory(['feed'])).toEqual(history)
  expect(await engine.getHistory(['feed'], { limit: 2 })).toEqual(history.slice(1))
  expect(await engine.getHistory(['quiet'])).toEqual([])
  await expect(engine.getHistory(['feed'], { limit: 0 })).rejects.toThrow(InvalidOptionsError)
  await engine.close()
})
