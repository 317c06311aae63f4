/**
 * The Redis broker itself, two brokers (two "processes") on one real redis-server: one round trip per
 * publish, subscriptions only where there are listeners, gaps filled from the stream or turned into
 * resets, idempotency keys, rewind, presence takeover, bounded failures, and keys that all expire.
 */

import { createClient } from '@redis/client'
import { InvalidOptionsError } from '@tanstack/realtime'
import type { BrokerListener, Frame } from '@tanstack/realtime/server'
import {
  channelKeys,
  createRedisBroker,
  type RedisBroker,
  type RedisBrokerOptions,
  RedisUnavailableError,
} from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { eventually } from '../../realtime/tests/support/helpers.js'

let redis: RedisServer
const brokers: RedisBroker[] = []
/** Connection errors the brokers reported (once per outage each). */
const reported: unknown[] = []

beforeAll(async () => {
  redis = await startRedisServer()
})

afterEach(async () => {
  redis.resume()
  await Promise.all(brokers.splice(0).map((broker) => broker.close()))
  reported.length = 0
  await redis.cli(['FLUSHALL'])
})

afterAll(async () => {
  await redis?.close()
})

function broker(options: RedisBrokerOptions = {}) {
  const created = createRedisBroker({
    url: redis.url,
    presenceTtlMs: 2000,
    heartbeatMs: 200,
    onError: (error) => reported.push(error),
    ...options,
  })
  brokers.push(created)
  return created
}

/** A listener that records what it is handed, as a channel of the engine would. */
function recorder() {
  const events: Array<{ t: 'msg' | 'pres' | 'reset' | 'claimed'; seq?: number; data?: unknown; value?: unknown }> = []
  const listener: BrokerListener = {
    message: (seq: number, frame: Frame) => events.push({ t: 'msg', seq, data: JSON.parse(frame.text).data }),
    presence: (frame: Frame) => events.push({ t: 'pres', value: JSON.parse(frame.text) }),
    reset: () => events.push({ t: 'reset' }),
    claimed: (cid: string) => events.push({ t: 'claimed', value: cid }),
  }
  const seqs = () => events.flatMap((event) => (event.t === 'msg' ? [event.seq as number] : []))
  return { events, listener, seqs }
}

async function commandCalls(command: string): Promise<number> {
  const stats = await redis.cli(['INFO', 'commandstats'])
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
}

describe('messages', () => {
  test('a publish is one round trip: Redis assigns seq and epoch, every subscribed process gets the frame once', async () => {
    const a = broker()
    const b = broker()
    const seen = recorder()
    b.subscribe('["chat"]', seen.listener)
    await b.read('["chat"]') // live
    await a.publish('["chat"]', '"warm-up"') // loads the script
    const before = await commandCalls('evalsha')
    const positions = []
    for (let n = 1; n <= 5; n++) positions.push(await a.publish('["chat"]', JSON.stringify(n)))
    expect(await commandCalls('evalsha')).toBe(before + 5)
    expect(positions.map((position) => position.seq)).toEqual([2, 3, 4, 5, 6])
    expect(new Set(positions.map((position) => position.epoch)).size).toBe(1)
    await eventually(() => expect(seen.seqs()).toEqual([1, 2, 3, 4, 5, 6]))
    expect(seen.events.filter((event) => event.t === 'msg').map((event) => event.data)).toEqual([
      'warm-up',
      1,
      2,
      3,
      4,
      5,
    ])
  })

  test('a process holds a pub/sub subscription only while it has local listeners', async () => {
    const a = broker()
    const listener = recorder().listener
    const subscribers = async () =>
      Number((await redis.cli(['PUBSUB', 'SHARDNUMSUB', pubsubOf('["room"]')])).split('\n')[1])
    expect(await subscribers()).toBe(0)
    a.subscribe('["room"]', listener)
    await a.read('["room"]')
    expect(await subscribers()).toBe(1)
    expect(a.channels).toBe(1)
    a.unsubscribe('["room"]', listener)
    await eventually(async () => expect(await subscribers()).toBe(0))
    expect(a.channels).toBe(0)
  })

  test('messages pub/sub dropped while a subscriber reconnected are read from the stream, in order, once', async () => {
    const a = broker()
    const b = broker()
    const seen = recorder()
    b.subscribe('["feed"]', seen.listener)
    await b.read('["feed"]')
    await a.publish('["feed"]', '1')
    await eventually(() => expect(seen.seqs()).toEqual([1]))
    // Redis drops every pub/sub connection: what is published until they are back is not delivered.
    await redis.cli(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
    for (let n = 2; n <= 30; n++) await a.publish('["feed"]', String(n))
    await eventually(() => expect(seen.seqs()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1)))
    expect(seen.events.some((event) => event.t === 'reset')).toBe(false)
  })

  test('a history Redis lost is an explicit reset (a new epoch), never a silent gap', async () => {
    const a = broker()
    const b = broker()
    const seen = recorder()
    b.subscribe('["feed"]', seen.listener)
    await b.read('["feed"]')
    const first = await a.publish('["feed"]', '1')
    await a.publish('["feed"]', '2')
    await eventually(() => expect(seen.seqs()).toEqual([1, 2]))
    await redis.cli(['FLUSHALL'])
    const next = await a.publish('["feed"]', '3')
    expect(next.seq).toBe(1)
    expect(next.epoch).not.toBe(first.epoch)
    await eventually(() => expect(seen.events.map((event) => event.t)).toEqual(['msg', 'msg', 'reset', 'msg']))
  })

  test('a gap the stream no longer covers is an explicit reset', async () => {
    const a = broker({ historySize: 2 })
    const b = broker({ historySize: 2 })
    const seen = recorder()
    b.subscribe('["feed"]', seen.listener)
    await b.read('["feed"]')
    await a.publish('["feed"]', '1')
    await eventually(() => expect(seen.seqs()).toEqual([1]))
    // Redis drops the pub/sub connections and refuses new ones while five messages are published.
    const admin = createClient({ url: redis.url })
    await admin.connect()
    try {
      const connected = Number(/connected_clients:(\d+)/.exec(await admin.sendCommand(['INFO', 'clients']))?.[1])
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', String(connected - 2)])
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      for (let n = 2; n <= 6; n++) await a.publish('["feed"]', String(n))
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '10000'])
    } finally {
      await admin.close()
    }
    // Messages 2-4 left the history before the subscriber was back: it resets, then goes on.
    await eventually(() => expect(seen.events.map((event) => event.t)).toEqual(['msg', 'reset']), 10_000)
    await a.publish('["feed"]', '7')
    await eventually(() => expect(seen.seqs()).toEqual([1, 7]))
  })

  test('resume: replay after a position, reset when its epoch is gone', async () => {
    const a = broker()
    const first = await a.publish('["feed"]', '1')
    await a.publish('["feed"]', '2')
    await a.publish('["feed"]', '3')
    const replay = await a.read('["feed"]', first)
    expect(replay.reset).toBe(false)
    expect(replay.messages.map((message) => JSON.parse(message.frame.text))).toEqual([
      { t: 'msg', ch: '["feed"]', seq: 2, data: 2 },
      { t: 'msg', ch: '["feed"]', seq: 3, data: 3 },
    ])
    expect((await a.read('["feed"]', { seq: 3, epoch: first.epoch })).messages).toEqual([])
    expect((await a.read('["feed"]', { seq: 1, epoch: 'another' })).reset).toBe(true)
    expect((await a.read('["feed"]', { seq: 9, epoch: first.epoch })).reset).toBe(true)
  })

  test('an idempotency key is applied once while its message is kept, then forgotten with it', async () => {
    const a = broker({ historySize: 3 })
    const once = await a.publish('["orders"]', '"pay"', 'order-1')
    expect(once).toMatchObject({ seq: 1, duplicate: false })
    expect(await a.publish('["orders"]', '"pay again"', 'order-1')).toEqual({ ...once, duplicate: true })
    for (let n = 0; n < 3; n++) await a.publish('["orders"]', String(n))
    // Message 1 left the history: its key went with it.
    expect(await a.publish('["orders"]', '"pay"', 'order-1')).toMatchObject({ seq: 5, duplicate: false })
    expect(Number(await redis.cli(['HLEN', channelKeys('rt:', '["orders"]').idem]))).toBe(1)
  })

  test('rewind reads the newest kept messages, oldest first', async () => {
    const a = broker()
    for (let n = 1; n <= 5; n++) await a.publish('["feed"]', String(n))
    const { position, messages } = await a.rewind('["feed"]', 2)
    expect(position.seq).toBe(5)
    expect(messages.map((message) => message.seq)).toEqual([4, 5])
  })
})

const member = (cid: string, name: string) => ({ cid, uid: name, state: { name } })

describe('presence', () => {
  test('members of every process, in join order; updates and leaves reach the other processes', async () => {
    const a = broker()
    const b = broker()
    const seen = recorder()
    b.subscribe('["room"]', seen.listener)
    await b.read('["room"]')
    await b.presenceJoin('["room"]', member('b1', 'bob'))
    expect(await a.presenceJoin('["room"]', member('a1', 'alice'))).toEqual([
      member('b1', 'bob'),
      member('a1', 'alice'),
    ])
    expect(await a.presenceUpdate('["room"]', 'a1', { name: 'Alice' })).toBe(true)
    // Only the owning process changes its members.
    expect(await b.presenceUpdate('["room"]', 'a1', { name: 'mallory' })).toBe(false)
    await a.presenceLeave('["room"]', 'a1')
    await eventually(() =>
      expect(seen.events.map((event) => event.value)).toEqual([
        { t: 'pres', ch: '["room"]', ev: 'join', m: member('b1', 'bob') },
        { t: 'pres', ch: '["room"]', ev: 'join', m: member('a1', 'alice') },
        { t: 'pres', ch: '["room"]', ev: 'update', cid: 'a1', patch: { name: 'Alice' } },
        { t: 'pres', ch: '["room"]', ev: 'leave', cid: 'a1' },
      ]),
    )
  })

  test('the members of a process that stops renewing leave everywhere after presenceTtlMs', async () => {
    const a = broker()
    const b = broker()
    const seen = recorder()
    b.subscribe('["room"]', seen.listener)
    await b.presenceJoin('["room"]', member('b1', 'bob'))
    a.subscribe('["room"]', recorder().listener)
    await a.presenceJoin('["room"]', member('a1', 'alice'))
    await a.close() // closes without leaving: as if the process were gone
    await eventually(
      () =>
        expect(seen.events.map((event) => event.value)).toContainEqual({
          t: 'pres',
          ch: '["room"]',
          ev: 'leave',
          cid: 'a1',
        }),
      5000,
    )
    expect(await b.presenceJoin('["room"]', member('b1', 'bob'))).toEqual([member('b1', 'bob')])
  })

  test('a connection resuming on another process takes its memberships over: no leave, the old process lets go', async () => {
    const a = broker()
    const b = broker()
    const watcher = broker()
    const onA = recorder()
    const seen = recorder()
    a.subscribe('["room"]', onA.listener)
    watcher.subscribe('["room"]', seen.listener)
    await watcher.read('["room"]')
    await a.presenceJoin('["room"]', member('a1', 'alice'), { resumeToken: 'secret-1' })
    await a.presenceJoin('["lobby"]', member('a1', 'alice'), { resumeToken: 'secret-1' })
    expect(await b.takeOver('secret-1', 'mallory', { resumeToken: 'secret-2' })).toBeUndefined() // another user
    const taken = await b.takeOver('secret-1', 'alice', { resumeToken: 'secret-2' })
    expect(taken?.cid).toBe('a1')
    expect(taken?.presence).toEqual(
      new Map([
        ['["room"]', { name: 'alice' }],
        ['["lobby"]', { name: 'alice' }],
      ]),
    )
    await eventually(() => expect(onA.events).toContainEqual({ t: 'claimed', value: 'a1' }))
    // The old process's late leave changes nothing; the new owner's update goes through.
    await a.presenceLeave('["room"]', 'a1')
    expect(await b.presenceUpdate('["room"]', 'a1', { name: 'Alice' })).toBe(true)
    // The secret was used: it resumes nothing a second time; the new one does.
    expect(await a.takeOver('secret-1', 'alice', { resumeToken: 'x' })).toBeUndefined()
    await eventually(async () =>
      expect((await watcher.takeOver('secret-2', 'alice', { resumeToken: 'secret-3' }))?.cid).toBe('a1'),
    )
    expect(seen.events.map((event) => (event.value as { ev?: string })?.ev)).not.toContain('leave')
  })
})

describe('faults', () => {
  test('while Redis is paused, requests fail with a retryable RedisUnavailableError in bounded time, then recover', async () => {
    const a = broker({ commandTimeoutMs: 300 })
    await a.publish('["feed"]', '1')
    redis.pause()
    const error = await a.publish('["feed"]', '2').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RedisUnavailableError)
    expect(error).toMatchObject({ code: 'timeout', retryable: true })
    redis.resume()
    // The timed-out publish may still have been applied once Redis woke up: the next one comes after it.
    expect((await a.publish('["feed"]', '3')).seq).toBeGreaterThanOrEqual(2)
  })

  test('while Redis is down, requests fail at once with RedisUnavailableError; after a restart they work again', async () => {
    const a = broker({ commandTimeoutMs: 1000 })
    await a.publish('["feed"]', '1')
    await redis.kill()
    await expect(a.publish('["feed"]', '2')).rejects.toBeInstanceOf(RedisUnavailableError)
    expect(reported.length).toBeGreaterThan(0) // the lost connection was reported
    await redis.restart()
    await eventually(async () => expect((await a.publish('["feed"]', '3')).seq).toBe(1), 10_000)
  })
})

describe('options', () => {
  test('invalid settings are refused with InvalidOptionsError', () => {
    expect(() => createRedisBroker({ url: redis.url, keyPrefix: 'a{b}' })).toThrow(InvalidOptionsError)
    expect(() => createRedisBroker({ url: redis.url, presenceTtlMs: 1000, heartbeatMs: 600 })).toThrow(
      /heartbeatMs \(600\) must be at most presenceTtlMs \/ 2 \(500\)/,
    )
    expect(() => createRedisBroker({ url: redis.url, historySize: -1 })).toThrow(InvalidOptionsError)
  })
})

describe('memory', () => {
  test('every key expires', async () => {
    const a = broker({ historyTtlMs: 60_000 })
    const seen = recorder()
    a.subscribe('["chat"]', seen.listener)
    for (let n = 0; n < 10; n++) await a.publish('["chat"]', JSON.stringify({ n }), `k${n}`)
    await a.presenceJoin('["chat"]', member('a1', 'alice'), { resumeToken: 'secret' })
    await a.exclusive('["chat"]', async () => {
      const keys = (await redis.cli(['--scan'])).split('\n').filter(Boolean)
      expect(keys.length).toBe(7) // meta, stream, idempotency keys, members, deadlines, write lock, resume record
      for (const key of keys) {
        const ttl = Number(await redis.cli(['PTTL', key]))
        expect(ttl, key).toBeGreaterThan(0)
        expect(ttl, key).toBeLessThanOrEqual(60_000)
      }
    })
  })
})

/** The pub/sub channel of `ch` under the default prefix. */
const pubsubOf = (ch: string) => channelKeys('rt:', ch).pubsub
