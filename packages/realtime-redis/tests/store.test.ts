/**
 * The Redis store itself, two stores (two "processes") on one real redis-server, driven through the
 * ports the channel core uses: one round trip per publish, subscriptions only where there are
 * subscribers, gaps filled from the stream or turned into resets, presence across processes and its
 * takeover, bounded failures, and keys that all expire. (The log's and the members' contracts are
 * in contracts.test.ts.)
 */

import { createClient } from '@redis/client'
import { InvalidOptionsError } from '@tanstack/realtime'
import { type Frame, type Session, Subscription } from '@tanstack/realtime/server'
import {
  channelKeys,
  createRedisStore,
  type RedisChannelStore,
  type RedisStoreOptions,
  RedisUnavailableError,
} from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { eventually } from '../../realtime/tests/support/helpers.js'

let redis: RedisServer
const stores: RedisChannelStore[] = []
/** Connection errors the stores reported (once per outage each). */
const reported: unknown[] = []

beforeAll(async () => {
  redis = await startRedisServer()
})

afterEach(async () => {
  redis.resume()
  await Promise.all(stores.splice(0).map((store) => store.close()))
  reported.length = 0
  await redis.cli(['FLUSHALL'])
})

afterAll(async () => {
  await redis?.close()
})

function store(options: RedisStoreOptions = {}) {
  const created = createRedisStore({
    url: redis.url,
    presenceTtlMs: 2000,
    heartbeatMs: 200,
    onError: (error) => reported.push(error),
    ...options,
  })
  stores.push(created)
  return created
}

let connections = 0

/** A connection as the core's session looks to a store: an id, a user, a secret, and what it was sent. */
function connection(uid = 'alice', id = `c${++connections}`) {
  const frames: any[] = []
  const session = {
    id,
    userId: uid,
    resumeToken: `secret-${++connections}`,
    open: true,
    presence: undefined as Set<string> | undefined,
    send: (frame: Frame) => frames.push(JSON.parse(frame.text)),
    replaced() {
      session.open = false
    },
  }
  return { session: session as unknown as Session & typeof session, frames }
}

/** A live subscriber of `ch` on `store`, as the core makes one: it joins, reads the position, goes live. */
async function subscriber(on: RedisChannelStore, ch: string) {
  const { session, frames } = connection()
  const ports = on.open(ch)
  const subscription = new Subscription(session, ch)
  ports.subscribers.add(subscription)
  const position = await ports.log.position()
  subscription.live(position.seq)
  return {
    frames,
    seqs: () => frames.filter((frame) => frame.t === 'msg').map((frame) => frame.seq),
  }
}

async function commandCalls(command: string): Promise<number> {
  const stats = await redis.cli(['INFO', 'commandstats'])
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
}

const shardSubscribers = async (ch: string) =>
  Number((await redis.cli(['PUBSUB', 'SHARDNUMSUB', channelKeys('rt:', ch).pubsub])).split('\n')[1])

describe('messages', () => {
  test('a publish is one round trip: Redis assigns seq and epoch, every subscribed process gets the frame once', async () => {
    const a = store()
    const b = store()
    const seen = await subscriber(b, '["chat"]')
    await a.open('["chat"]').log.append('"warm-up"') // loads the script
    const before = await commandCalls('evalsha')
    const positions = []
    for (let n = 1; n <= 5; n++) positions.push(await a.open('["chat"]').log.append(JSON.stringify(n)))
    expect(await commandCalls('evalsha')).toBe(before + 5)
    expect(positions.map((position) => position.seq)).toEqual([2, 3, 4, 5, 6])
    expect(new Set(positions.map((position) => position.epoch)).size).toBe(1)
    await eventually(() => expect(seen.seqs()).toEqual([1, 2, 3, 4, 5, 6]))
    expect(seen.frames.map((frame) => frame.data)).toEqual(['warm-up', 1, 2, 3, 4, 5])
  })

  test('a process holds a pub/sub subscription only while it has a local subscriber or member', async () => {
    const a = store()
    expect(await shardSubscribers('["room"]')).toBe(0)
    const { session } = connection()
    const ports = a.open('["room"]')
    const subscription = new Subscription(session, '["room"]')
    ports.subscribers.add(subscription)
    await ports.log.position()
    expect(await shardSubscribers('["room"]')).toBe(1)
    ports.subscribers.remove(subscription)
    await eventually(async () => expect(await shardSubscribers('["room"]')).toBe(0))
    await ports.members.join(session, {})
    await eventually(async () => expect(await shardSubscribers('["room"]')).toBe(1))
    await ports.members.leave(session)
    await eventually(async () => expect(await shardSubscribers('["room"]')).toBe(0))
    expect(a.feeds).toBe(0)
  })

  test('messages pub/sub dropped while a subscriber reconnected are read from the stream, in order, once', async () => {
    const a = store()
    const b = store()
    const seen = await subscriber(b, '["feed"]')
    await a.open('["feed"]').log.append('1')
    await eventually(() => expect(seen.seqs()).toEqual([1]))
    // Redis drops every pub/sub connection: what is published until they are back is not delivered.
    await redis.cli(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
    for (let n = 2; n <= 30; n++) await a.open('["feed"]').log.append(String(n))
    await eventually(() => expect(seen.seqs()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1)))
  })

  test('a history Redis lost is an explicit reset (a resync hint), never a silent gap', async () => {
    const a = store()
    const b = store()
    const seen = await subscriber(b, '["feed"]')
    const first = await a.open('["feed"]').log.append('1')
    await a.open('["feed"]').log.append('2')
    await eventually(() => expect(seen.seqs()).toEqual([1, 2]))
    await redis.cli(['FLUSHALL'])
    const next = await a.open('["feed"]').log.append('3')
    expect(next.seq).toBe(1)
    expect(next.epoch).not.toBe(first.epoch)
    // The subscriber is told to resubscribe from its position (then it learns the reset), and gets
    // nothing more until it does.
    await eventually(() => expect(seen.seqs()).toEqual([1, 2, Number.MAX_SAFE_INTEGER]))
    expect(seen.frames.at(-1)).toEqual({ t: 'msg', ch: '["feed"]', seq: Number.MAX_SAFE_INTEGER })
  })

  test('a gap the stream no longer covers is an explicit reset', async () => {
    const a = store({ historySize: 2 })
    const b = store({ historySize: 2 })
    const seen = await subscriber(b, '["feed"]')
    await a.open('["feed"]').log.append('1')
    await eventually(() => expect(seen.seqs()).toEqual([1]))
    // Redis drops the pub/sub connections and refuses new ones while five messages are published.
    const admin = createClient({ url: redis.url })
    await admin.connect()
    try {
      const connected = Number(/connected_clients:(\d+)/.exec(await admin.sendCommand(['INFO', 'clients']))?.[1])
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', String(connected - 2)])
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      for (let n = 2; n <= 6; n++) await a.open('["feed"]').log.append(String(n))
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '10000'])
    } finally {
      await admin.close()
    }
    // Messages 2-4 left the history before the subscriber was back: a resync hint, no 5 and 6.
    await eventually(() => expect(seen.seqs()).toEqual([1, Number.MAX_SAFE_INTEGER]), 10_000)
  })
})

describe('presence', () => {
  test("members of every process, in join order; each process's members see the others' changes", async () => {
    const a = store()
    const b = store()
    const bob = connection('bob')
    const alice = connection('alice')
    const onB = b.open('["room"]').members
    const onA = a.open('["room"]').members
    await onB.join(bob.session, { name: 'bob' })
    await onA.join(alice.session, { name: 'alice' })
    expect(await onA.list()).toEqual([
      { cid: bob.session.id, uid: 'bob', state: { name: 'bob' } },
      { cid: alice.session.id, uid: 'alice', state: { name: 'alice' } },
    ])
    const update = { t: 'pres', ch: '["room"]', ev: 'update', cid: alice.session.id, patch: { name: 'Alice' } }
    await onA.update(alice.session, { name: 'Alice' })
    onA.announce({ text: JSON.stringify(update) } as Frame, alice.session)
    await eventually(() => expect(bob.frames).toEqual([update]))
    // A barrier: bob's own announcement, published after alice's, is the first thing alice gets
    // (her own update never comes back to her through Redis).
    const marker = { t: 'pres', ch: '["room"]', ev: 'update', cid: bob.session.id, patch: { name: 'Bob' } }
    onB.announce({ text: JSON.stringify(marker) } as Frame, bob.session)
    await eventually(() => expect(alice.frames).toEqual([marker]))
  })

  test('the members of a process that stops renewing leave everywhere after presenceTtlMs', async () => {
    const a = store()
    const b = store()
    const bob = connection('bob')
    await b.open('["room"]').members.join(bob.session, {})
    const alice = connection('alice')
    await a.open('["room"]').members.join(alice.session, {})
    await a.close() // without leaving: as if the process were gone
    await eventually(
      () => expect(bob.frames).toContainEqual({ t: 'pres', ch: '["room"]', ev: 'leave', cid: alice.session.id }),
      5000,
    )
    expect(await b.open('["room"]').members.list()).toEqual([{ cid: bob.session.id, uid: 'bob', state: {} }])
  })

  test('a connection resuming on another process takes its memberships over: no leave, the old one is replaced', async () => {
    const a = store()
    const b = store()
    const watcher = connection('watcher')
    await b.open('["room"]').members.join(watcher.session, {})
    const alice = connection('alice')
    await a.open('["room"]').members.join(alice.session, { name: 'alice' })
    await a.open('["lobby"]').members.join(alice.session, { name: 'alice' })
    // Another user cannot use the secret; the user can, once.
    expect(await b.resume(alice.session.resumeToken, 'mallory')).toBeUndefined()
    const found = await b.resume(alice.session.resumeToken, 'alice')
    expect(found).toEqual({ cid: alice.session.id, uid: 'alice', channels: ['["room"]', '["lobby"]'] })
    expect(await b.resume(alice.session.resumeToken, 'alice')).toBeUndefined()
    // As the core's takeover does: the new connection takes the id, then claims each membership.
    const again = connection('alice', alice.session.id)
    for (const ch of found?.channels ?? [])
      expect(await b.find(ch)?.members.claim(again.session.id, again.session, Date.now() + 5000)).toBe(true)
    // The first process let go: its connection (a socket not noticed dead) was replaced.
    await eventually(() => expect(alice.session.open).toBe(false))
    expect(await a.open('["room"]').members.leave(alice.session)).toBe(false)
    expect(b.open('["room"]').members.state(again.session)).toEqual({ name: 'alice' })
    // Nobody saw a leave; the new secret resumes it again.
    expect(watcher.frames.filter((frame) => frame.ev === 'leave')).toEqual([])
    await b.open('["room"]').members.join(again.session, { name: 'alice', back: true })
    expect((await a.resume(again.session.resumeToken, 'alice'))?.cid).toBe(alice.session.id)
  })
})

describe('faults', () => {
  test('while Redis is paused, requests fail with a retryable RedisUnavailableError in bounded time, then recover', async () => {
    const a = store({ commandTimeoutMs: 300 })
    await a.open('["feed"]').log.append('1')
    redis.pause()
    const error = await a
      .open('["feed"]')
      .log.append('2')
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RedisUnavailableError)
    expect(error).toMatchObject({ code: 'timeout', retryable: true })
    redis.resume()
    // The timed-out publish may still have been applied once Redis woke up: the next one comes after it.
    expect((await a.open('["feed"]').log.append('3')).seq).toBeGreaterThanOrEqual(2)
  })

  test('while Redis is down, requests fail at once with RedisUnavailableError; after a restart they work again', async () => {
    const a = store({ commandTimeoutMs: 1000 })
    await a.open('["feed"]').log.append('1')
    await redis.kill()
    await expect(a.open('["feed"]').log.append('2')).rejects.toBeInstanceOf(RedisUnavailableError)
    expect(reported.length).toBeGreaterThan(0) // the lost connection was reported
    await redis.restart()
    await eventually(async () => expect((await a.open('["feed"]').log.append('3')).seq).toBe(1), 10_000)
  })
})

describe('options', () => {
  test('invalid settings are refused with InvalidOptionsError', () => {
    expect(() => createRedisStore({ url: redis.url, keyPrefix: 'a{b}' })).toThrow(InvalidOptionsError)
    expect(() => createRedisStore({ url: redis.url, presenceTtlMs: 1000, heartbeatMs: 600 })).toThrow(
      /heartbeatMs \(600\) must be at most presenceTtlMs \/ 2 \(500\)/,
    )
    expect(() => createRedisStore({ url: redis.url, historySize: -1 })).toThrow(InvalidOptionsError)
  })
})

describe('memory', () => {
  test('every key expires', async () => {
    const a = store({ historyTtlMs: 60_000 })
    const ports = a.open('["chat"]')
    for (let n = 0; n < 10; n++) await ports.log.append(JSON.stringify({ n }), `k${n}`)
    await ports.members.join(connection().session, {})
    await ports.exclusive(async () => {
      const keys = (await redis.cli(['--scan'])).split('\n').filter(Boolean)
      expect(keys.length).toBe(7) // meta, stream, idempotency keys, members, deadlines, write lock, resume record
      for (const key of keys) {
        const ttl = Number(await redis.cli(['PTTL', key]))
        expect(ttl, key).toBeGreaterThan(0)
        expect(ttl, key).toBeLessThanOrEqual(60_000)
      }
    })
  })

  test('a channel only read, never published to, expires too (the read started its epoch)', async () => {
    const a = store({ historyTtlMs: 60_000 })
    await a.open('["quiet"]').log.position()
    const keys = (await redis.cli(['--scan'])).split('\n').filter(Boolean)
    expect(keys).toEqual([channelKeys('rt:', '["quiet"]').meta])
    const ttl = Number(await redis.cli(['PTTL', keys[0] as string]))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})
