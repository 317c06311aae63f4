/**
 * The behaviour a client sees, written once and run against every preset (the Node server and the
 * Workers Durable Objects in real workerd): subscribe, publish, server publish, presence, auth,
 * reconnect and resume, bad input. Each preset calls {@link conformanceSuite} with its harness.
 */
import {
  createRealtimeClient,
  defineChannel,
  ForbiddenError,
  getPresence,
  InvalidChannelKeyError,
  OfflineError,
  presenceChannel,
  type RealtimeError,
  TooLargeError,
  UnauthorizedError,
} from '@tanstack/realtime'
import { afterEach, describe, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import {
  bystander,
  closeCode,
  eventually,
  rawSocket,
  recordStatuses,
  startProxy,
  statusBecomes,
  upgradeStatus,
} from '../support/helpers.js'
import { collectionCases, todoStore } from './collections.js'
import type { Harness, HarnessOptions, HarnessServer } from './harness.js'
import { rewindAndRetriesSuite } from './rewind-and-retries.js'
import { schemasAndHooksSuite } from './schemas-and-hooks.js'

export type { Harness, HarnessOptions, HarnessServer, TokenSource } from './harness.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function conformanceSuite(harness: Harness): void {
  let server: HarnessServer | undefined
  const start = async (options?: HarnessOptions) => {
    server = await harness.start(options)
    return server
  }
  afterEach(async () => {
    harness.closeClients()
    await server?.stop()
    server = undefined
  })

  /** A raw protocol socket for one channel (the real client never sends what these tests send). */
  const raw = (target: HarnessServer, channel: string, token = 'raw', query = 'v=1') =>
    rawSocket(target.socketUrl(channel, `${query}&token=${token}`))

  describe('live collections', () => collectionCases(start))

  describe('requests: order, identity, rewind, idempotency keys', () => {
    test('answers come in request order, even while a collection load waits on outside I/O', async () => {
      const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
      let loading!: () => void
      const called = new Promise<void>((resolve) => {
        loading = resolve
      })
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      const load = store.source.load
      store.source.load = async (channel, identity) => {
        loading()
        await released
        return load(channel, identity)
      }
      const server = await start({ collection: store.source })
      const ch = '["todos",{"teamId":"t1"}]'
      const socket = await raw(server, ch, 'alice')
      socket.send({ t: 'snap', id: 1, ch })
      socket.send({ t: 'pub', id: 2, ch, data: 'after the snapshot' })
      socket.send({ t: 'ping' })
      await called
      await socket.next((frame) => frame.t === 'pong') // the server has read the pub
      release()
      await socket.next((frame) => frame.t === 'ack' && frame.id === 2)
      const answers = socket.frames.filter((frame) => frame.t === 'ack' || frame.t === 'err')
      expect(answers.map((frame) => frame.id)).toEqual([1, 2])
      expect(answers[0]).toMatchObject({ rows: [{ id: 'a' }], seq: 0 })
      socket.ws.close()
    })

    test('the default user id is the token, and a JWT token shows its subject, never itself', async () => {
      const server = await start()
      const plain = await raw(server, '["room"]', 'alice')
      expect(plain.frames[0]).toMatchObject({ t: 'hello', uid: 'alice' })
      const jwt = [
        { alg: 'HS256', typ: 'JWT' },
        { sub: 'user-42', name: 'Zoë' },
      ]
        .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
        .concat('c2lnbmF0dXJl')
        .join('.')
      const signed = await raw(server, '["room"]', jwt)
      expect(signed.frames[0]).toMatchObject({ t: 'hello', uid: 'user-42' })
      const client = server.client('bob')
      await getPresence(client, ['room']).enter({}).ready
      expect(client.userId).toBe('bob')
      for (const socket of [plain, signed]) socket.ws.close()
    })

    test('a subscribe with rewind gets the newest kept messages in order, then the ack, then live ones', async () => {
      const server = await start({ historySize: 4 })
      for (let n = 1; n <= 6; n++) await server.publish(['feed'], n)
      const socket = await raw(server, '["feed"]')
      const ack = await socket.request({ t: 'sub', id: 1, ch: '["feed"]', rewind: 2 })
      await server.publish(['feed'], 7)
      await socket.next((frame) => frame.t === 'msg' && frame.seq === 7)
      const seen = socket.frames.filter((frame) => frame.t === 'msg' || frame.t === 'ack')
      expect(seen.map((frame) => (frame.t === 'ack' ? 'ack' : frame.data))).toEqual([5, 6, 'ack', 7])
      expect(ack).toMatchObject({ t: 'ack', id: 1, seq: 6 })
      expect(ack.reset).toBeUndefined()

      // More than is kept: what is kept (4 messages); on a channel without messages: only the ack.
      const more = await raw(server, '["feed"]')
      expect(await more.request({ t: 'sub', id: 1, ch: '["feed"]', rewind: 100 })).toMatchObject({ seq: 7 })
      expect(more.frames.filter((frame) => frame.t === 'msg').map((frame) => frame.seq)).toEqual([4, 5, 6, 7])
      const empty = await raw(server, '["quiet"]')
      expect(await empty.request({ t: 'sub', id: 1, ch: '["quiet"]', rewind: 10 })).toMatchObject({ seq: 0 })
      expect(empty.frames.filter((frame) => frame.t === 'msg')).toEqual([])
      for (const raw of [socket, more, empty]) raw.ws.close()
    })

    test('a publish retried with the same idempotency key is applied once and acked with the first seq', async () => {
      const server = await start({ historySize: 3 })
      const got: unknown[] = []
      await server.client('watcher').subscribe(['news'], (msg) => got.push(msg)).ready
      const socket = await raw(server, '["news"]', 'alice')
      const publish = (id: number, data: unknown, idem?: string) =>
        socket.request({ t: 'pub', id, ch: '["news"]', data, ...(idem && { idem }) })
      expect(await publish(1, 'first', 'key-1')).toEqual({ t: 'ack', id: 1, seq: 1 })
      expect(await publish(2, 'retry', 'key-1')).toEqual({ t: 'ack', id: 2, seq: 1 })
      // Another connection retrying the same request (a reconnect) is deduplicated too.
      const other = await raw(server, '["news"]', 'alice')
      expect(await other.request({ t: 'pub', id: 1, ch: '["news"]', data: 'retry', idem: 'key-1' })).toEqual({
        t: 'ack',
        id: 1,
        seq: 1,
      })
      expect(await publish(3, 'second', 'key-2')).toEqual({ t: 'ack', id: 3, seq: 2 })
      await eventually(() => expect(got).toEqual(['first', 'second']))
      // The key is forgotten when its message leaves the history (3 messages here): applied again.
      expect(await publish(4, 'third')).toMatchObject({ seq: 3 })
      expect(await publish(5, 'fourth')).toMatchObject({ seq: 4 })
      expect(await publish(6, 'again', 'key-1')).toEqual({ t: 'ack', id: 6, seq: 5 })
      await eventually(() => expect(got).toEqual(['first', 'second', 'third', 'fourth', 'again']))
      for (const raw of [socket, other]) raw.ws.close()
    })

    test('a write retried with the same idempotency key is applied once and acked with the first position', async () => {
      const store = todoStore()
      const server = await start({ collection: store.source })
      const ch = '["todos",{"teamId":"t1"}]'
      const watcher = await raw(server, ch, 'watcher')
      await watcher.request({ t: 'sub', id: 1, ch })
      const socket = await raw(server, ch, 'alice')
      const ops = [{ type: 'insert', key: 'a', value: { id: 'a', title: 'Once', done: false } }]
      const first = await socket.request({ t: 'write', id: 1, ch, ops, idem: 'write-1' })
      expect(first).toMatchObject({ t: 'ack', id: 1, seq: 1, epoch: expect.any(String) })
      expect(await socket.request({ t: 'write', id: 2, ch, ops, idem: 'write-1' })).toEqual({ ...first, id: 2 })
      expect(store.stats.identities).toEqual(['alice']) // the write handler ran once
      // A barrier: a later message arrives after anything the retry could have broadcast.
      await server.publish(['todos', { teamId: 't1' }], { changes: [] })
      await watcher.next((frame) => frame.t === 'msg' && frame.seq === 2)
      expect(watcher.frames.filter((frame) => frame.t === 'msg').map((frame) => frame.seq)).toEqual([1, 2])
      for (const raw of [socket, watcher]) raw.ws.close()
    })
  })

  describe('messaging', () => {
    test('two clients exchange messages on a parametrised channel', async () => {
      const server = await start()
      const alice = server.client('alice')
      const bob = server.client('bob')
      const aliceGot: unknown[] = []
      const bobGot: unknown[] = []
      await alice.subscribe(['chat', { roomId: '1', lang: 'en' }], (msg) => aliceGot.push(msg)).ready
      // Same channel: params are compared by value, in any key order.
      await bob.subscribe(['chat', { lang: 'en', roomId: '1' }], (msg) => bobGot.push(msg)).ready
      const other: unknown[] = []
      await bob.subscribe(['chat', { roomId: '2', lang: 'en' }], (msg) => other.push(msg)).ready

      await alice.publish(['chat', { roomId: '1', lang: 'en' }], { text: 'hi bob' })
      await bob.publish(['chat', { roomId: '1', lang: 'en' }], { text: 'hi alice' })

      await eventually(() => {
        expect(aliceGot).toEqual([{ text: 'hi bob' }, { text: 'hi alice' }])
        expect(bobGot).toEqual([{ text: 'hi bob' }, { text: 'hi alice' }])
      })
      expect(other).toEqual([])
    })

    test('messages carry increasing sequence numbers and publish resolves with them', async () => {
      const server = await start()
      const client = server.client('alice')
      const seqs: number[] = []
      await client.subscribe(['counter'], (_msg, meta) => seqs.push(meta.seq)).ready
      const first = await client.publish(['counter'], 1)
      const second = await client.publish(['counter'], 2)
      expect(second.seq).toBe(first.seq + 1)
      await eventually(() => expect(seqs).toEqual([first.seq, second.seq]))
    })

    test('server-side publish reaches every subscriber', async () => {
      const server = await start()
      const clients = ['a', 'b', 'c'].map((name) => server.client(name))
      const received = clients.map(() => [] as unknown[])
      await Promise.all(
        clients.map((client, i) => client.subscribe(['todos', { teamId: '123' }], (m) => received[i]?.push(m)).ready),
      )
      const position = await server.publish(['todos', { teamId: '123' }], { type: 'created', todo: { id: 1 } })
      expect(position.seq).toBe(1)
      await eventually(() => {
        for (const messages of received) expect(messages).toEqual([{ type: 'created', todo: { id: 1 } }])
      })
    })

    test('typed channel definitions name the same channel as raw keys', async () => {
      const server = await start()
      const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
      const client = server.client('alice')
      const texts: string[] = []
      await client.subscribe(chat({ roomId: '7' }), (msg) => texts.push(msg.text)).ready
      await server.publish(['chat', { roomId: '7' }], { text: 'from the server' })
      await eventually(() => expect(texts).toEqual(['from the server']))
    })

    test('invalid keys, oversized messages and publishing while disconnected fail with typed errors', async () => {
      const server = await start()
      const client = server.client('alice')
      expect(() => client.subscribe(['', {}], () => {})).toThrow(InvalidChannelKeyError)
      await expect(client.publish(['chat', { when: new Date() }], 'x')).rejects.toThrow(InvalidChannelKeyError)
      await client.publish(['chat'], 'connects lazily')
      await expect(client.publish(['chat'], 'x'.repeat(70_000))).rejects.toThrow(TooLargeError)
      client.disconnect()
      expect(client.status.getSnapshot()).toBe('disconnected')
      await expect(client.publish(['chat'], 'offline')).rejects.toThrow(OfflineError)
      await expect(server.publish(['chat'], 'x'.repeat(70_000))).rejects.toThrow(TooLargeError)
    })
  })

  describe('reconnect and resume', () => {
    test('after a server restart the client reconnects, resubscribes and re-enters presence', async () => {
      const server = await start()
      const alice = server.client('alice')
      const bob = server.client('bob')
      const got: unknown[] = []
      const resets: number[] = []
      await alice.subscribe(['chat'], (msg) => got.push(msg), { onReset: () => resets.push(1) }).ready
      await getPresence(alice, ['room']).enter({ name: 'Alice' }).ready
      const bobPresence = getPresence(bob, ['room'])
      await bobPresence.enter({ name: 'Bob' }).ready
      await server.publish(['chat'], 'before')
      await eventually(() => expect(got).toEqual(['before']))
      const statuses = recordStatuses(alice)

      await server.stop()
      await eventually(() => expect(alice.status.getSnapshot()).toBe('reconnecting'))
      await server.restart()
      await eventually(() => expect(alice.status.getSnapshot()).toBe('connected'))
      expect(statuses[0]).toBe('connected')
      expect(statuses).toContain('reconnecting')

      // Channels were resubscribed: the server knows about alice's subscription again.
      await eventually(async () => expect(await server.subscriberCount(['chat'])).toBe(1))
      await server.publish(['chat'], 'after')
      await eventually(() => expect(got).toEqual(['before', 'after']))
      // The new server has a new history (a new epoch): the subscriber was told to reset.
      expect(resets).toEqual([1])
      // Presence was re-entered on the new server.
      await eventually(() => expect(bobPresence.getSnapshot().others.map((m) => m.state)).toEqual([{ name: 'Alice' }]))
    })

    test('a short network cut replays the missed messages exactly once', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      const got: number[] = []
      const lives: boolean[] = []
      await client.subscribe(['feed'], (n) => got.push(n as number), { onLive: (info) => lives.push(info.recovered) })
        .ready
      for (let n = 1; n <= 3; n++) await server.publish(['feed'], n)
      await eventually(() => expect(got).toEqual([1, 2, 3]))

      proxy.block()
      proxy.cut()
      await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
      for (let n = 4; n <= 8; n++) await server.publish(['feed'], n)
      proxy.unblock()
      await eventually(() => expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]))
      await eventually(() => expect(lives).toEqual([false, true])) // onLive follows the replayed messages
      await server.publish(['feed'], 9)
      await eventually(() => expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]))
      await proxy.close()
    })

    test('repeated network cuts during a steady stream lose, repeat and reorder nothing', async () => {
      const server = await start()
      // A link that delivers frames in batches: acks, replays and live messages share one read.
      const proxy = await startProxy(server.port, { batchMs: 5 })
      const client = server.client('alice', { url: proxy.url })
      const got: number[] = []
      let resets = 0
      await client.subscribe(['stream'], (n) => got.push(n as number), { onReset: () => resets++ }).ready
      const total = 400
      let cuts = 0
      let published = 0
      while (published < total) {
        // A steady stream in small bursts, so replays, acks and live messages share socket reads.
        for (let i = 0; i < 4 && published < total; i++) await server.publish(['stream'], ++published)
        await sleep(1)
        // Cut every 25 delivered messages, while messages keep flowing.
        if (got.length >= (cuts + 1) * 25 && cuts < 12) {
          proxy.cut()
          cuts++
        }
      }
      await eventually(() => expect(got.at(-1)).toBe(total), 15_000)
      const unique = new Set(got)
      const report = {
        lost: total - unique.size,
        duplicated: got.length - unique.size,
        reordered: got.filter((n, i) => i > 0 && n < (got[i - 1] as number)).length,
        resets,
      }
      expect(report).toEqual({ lost: 0, duplicated: 0, reordered: 0, resets: 0 })
      expect(cuts).toBe(12)
      await proxy.close()
    })

    test('when history no longer covers the gap the subscriber is told to reset', async () => {
      const server = await start({ historySize: 2 })
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      const got: number[] = []
      let resets = 0
      await client.subscribe(['feed'], (n) => got.push(n as number), { onReset: () => resets++ }).ready
      await server.publish(['feed'], 1)
      await eventually(() => expect(got).toEqual([1]))

      proxy.block()
      proxy.cut()
      await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
      for (let n = 2; n <= 6; n++) await server.publish(['feed'], n)
      proxy.unblock()
      await eventually(() => expect(resets).toBe(1))
      expect(got).toEqual([1]) // nothing replayed, nothing duplicated
      await server.publish(['feed'], 7)
      await eventually(() => expect(got).toEqual([1, 7]))
      await proxy.close()
    })

    test('getAuthToken is asked again on every reconnect', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      let calls = 0
      const client = createRealtimeClient({
        transport: server.transport(async () => {
          calls++
          return `user-${calls}`
        }, proxy.url),
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      })
      client.connect()
      client.subscribe(['chat'], () => {}) // per-channel transports connect per channel
      await eventually(() => expect(client.userId).toBe('user-1'))
      proxy.cut()
      await eventually(() => expect(client.userId).toBe('user-2'))
      expect(client.status.getSnapshot()).toBe('connected')
      client.disconnect()
      await proxy.close()
    })

    test('a getAuthToken slower than the request timeout still connects', async () => {
      const server = await start()
      let calls = 0
      const client = createRealtimeClient({
        transport: server.transport(async () => {
          calls++
          await sleep(300) // longer than requestTimeoutMs: the connect timeout starts once the token is in hand
          return 'slow-token'
        }),
        requestTimeoutMs: 200,
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      })
      const subscription = client.subscribe(['chat'], () => {})
      await eventually(() => expect(client.status.getSnapshot()).toBe('connected'), 5000)
      await subscription.ready
      expect(client.userId).toBe('slow-token')
      expect(calls).toBe(1)
      client.disconnect()
    })

    test('a publish made while reconnecting is sent once the connection is back', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      const observer = server.client('bob')
      const got: unknown[] = []
      await observer.subscribe(['chat'], (msg) => got.push(msg)).ready
      await client.subscribe(['chat'], () => {}).ready // keeps a per-channel socket open to lose
      await client.publish(['chat'], 'first')
      proxy.block()
      proxy.cut()
      await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
      const pending = client.publish(['chat'], 'queued')
      await sleep(50)
      proxy.unblock()
      await expect(pending).resolves.toMatchObject({ seq: 2 })
      await eventually(() => expect(got).toEqual(['first', 'queued']))
      await proxy.close()
    })

    test('requests queued during an outage are paced to the rate limit: none is refused', async () => {
      const server = await start({ rateLimit: { perSecond: 100, burst: 20 } })
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      const observer = server.client('bob')
      const got: unknown[] = []
      await observer.subscribe(['chat'], (msg) => got.push(msg)).ready
      await client.subscribe(['chat'], () => {}).ready
      proxy.block()
      proxy.cut()
      await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
      const sent = Array.from({ length: 100 }, (_, n) => n)
      const pending = sent.map((n) => client.publish(['chat'], n))
      proxy.unblock()
      const refused = (await Promise.allSettled(pending)).filter((result) => result.status === 'rejected')
      expect(refused).toEqual([])
      await eventually(() => expect(got).toEqual(sent))
      await proxy.close()
    })

    test('disconnect() stops reconnecting; connect() resumes subscriptions', async () => {
      const server = await start()
      const client = server.client('alice')
      const got: unknown[] = []
      await client.subscribe(['chat'], (msg) => got.push(msg)).ready
      client.disconnect()
      expect(client.status.getSnapshot()).toBe('disconnected')
      await eventually(async () => expect(await server.subscriberCount(['chat'])).toBe(0))
      await expect(client.publish(['chat'], 'nope')).rejects.toThrow(OfflineError)
      await server.publish(['chat'], 'while away')
      client.connect()
      await eventually(() => expect(client.status.getSnapshot()).toBe('connected'))
      await eventually(() => expect(got).toEqual(['while away'])) // resumed from the last position
    })
  })

  describe('auth', () => {
    test('authorize denies subscribe, publish and presence separately, each with its typed error', async () => {
      const asked: Array<[string, unknown]> = []
      const server = await start({
        async authorize(userId, channel) {
          asked.push([userId, channel])
          const [name] = channel
          if (name === 'read-only') return { subscribe: true, publish: false, presence: true }
          if (name === 'write-only') return { subscribe: false, publish: true, presence: false }
          return null
        },
      })
      const client = server.client('alice')

      const errors: RealtimeError[] = []
      const denied = client.subscribe(['write-only'], () => {}, { onError: (error) => errors.push(error) })
      await expect(denied.ready).rejects.toThrow(ForbiddenError)
      expect(errors.map((error) => error.code)).toEqual(['forbidden'])

      await expect(client.publish(['read-only'], 'x')).rejects.toThrow(ForbiddenError)
      await expect(client.publish(['write-only'], 'allowed')).resolves.toEqual({ seq: 1 })

      const presence = getPresence(client, ['write-only'])
      const leave = presence.enter({ name: 'alice' })
      await expect(leave.ready).rejects.toThrow(ForbiddenError)
      expect(presence.getSnapshot().status).toBe('error')
      expect(presence.getSnapshot().error).toBeInstanceOf(ForbiddenError)

      await expect(client.publish(['nothing'], 'x')).rejects.toMatchObject({ code: 'forbidden', retryable: false })
      await client.subscribe(['read-only'], () => {}).ready
      await getPresence(client, ['read-only']).enter({ name: 'alice' }).ready
      // authorize receives the parsed key and the identity from getAuthToken.
      expect(asked).toContainEqual(['alice', ['read-only']])
    })

    test('a channel denied to everything is refused; subscribers and presence get ForbiddenError', async () => {
      const server = await start({ authorize: (_user, [name]) => (name === 'secret' ? null : { subscribe: true }) })
      const client = server.client('alice')
      const errors: string[] = []
      const denied = client.subscribe(['secret'], () => {}, { onError: (error) => errors.push(error.code) })
      await expect(denied.ready).rejects.toThrow(ForbiddenError)
      expect(errors).toEqual(['forbidden'])
      await expect(getPresence(client, ['secret']).enter({}).ready).rejects.toThrow(ForbiddenError)
      // The rest of the client is unaffected.
      await client.subscribe(['open'], () => {}).ready
      await eventually(() => expect(client.status.getSnapshot()).toBe('connected'))
    })

    test('an upgrade without identity is refused; the client asks for a token twice, then stops until connect()', async () => {
      const server = await start()
      expect(await upgradeStatus(server.socketUrl('["chat"]', 'v=1'))).toBe(401)
      expect(await upgradeStatus(server.socketUrl('["chat"]', 'v=1&token=alice'))).toBe(101)
      // Clients that ask for it (the client core does) get the socket closed with 4401 instead.
      expect(await closeCode(server.socketUrl('["chat"]', 'v=1&refusal=close'))).toBe(4401)

      let token: string | null = null
      let asked = 0
      const client = createRealtimeClient({
        transport: server.transport(() => {
          asked++
          return token
        }),
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      })
      client.connect()
      const subscription = client.subscribe(['chat'], () => {}) // per-channel transports connect per channel
      await expect(subscription.ready).rejects.toThrow(UnauthorizedError)
      expect(client.status.getSnapshot()).toBe('refused')
      expect(client.error).toBeInstanceOf(UnauthorizedError)
      expect(asked).toBe(2) // a refreshed token gets one more chance; then no retry loop
      token = 'alice'
      client.connect() // after signing in
      await statusBecomes(client, 'connected')
      await eventually(() => expect(subscription.state.getSnapshot().status).toBe('live'))
      expect(client.userId).toBe('alice')
      client.disconnect()
    })

    test('a disallowed Origin is refused; same-origin is the default', async () => {
      let server = await start()
      const url = server.socketUrl('["chat"]', 'token=alice')
      expect(await upgradeStatus(url, { Origin: 'http://evil.example' })).toBe(403)
      // Clients that ask for it (the client core does) learn it from a close code browsers can read.
      expect(await closeCode(`${url}&refusal=close`, { Origin: 'http://evil.example' })).toBe(4403)
      expect(await upgradeStatus(url, { Origin: `http://127.0.0.1:${server.port}` })).toBe(101)
      // Same host, other scheme: a page served over http may not use a TLS connection (here
      // reported by a TLS-terminating proxy). An https page behind such a proxy is accepted.
      const proxied = { 'X-Forwarded-Proto': 'https' }
      expect(await upgradeStatus(url, { ...proxied, Origin: `http://127.0.0.1:${server.port}` })).toBe(403)
      expect(await upgradeStatus(url, { ...proxied, Origin: `https://127.0.0.1:${server.port}` })).toBe(101)
      expect(await upgradeStatus(url, { Origin: `ftp://127.0.0.1:${server.port}` })).toBe(403)
      await server.stop()

      server = await start({ allowedOrigins: ['https://app.example'] })
      const allowlisted = server.socketUrl('["chat"]', 'token=alice')
      expect(await upgradeStatus(allowlisted, { Origin: 'https://app.example' })).toBe(101)
      expect(await upgradeStatus(allowlisted, { Origin: `http://127.0.0.1:${server.port}` })).toBe(403)
    })

    test('getAuthToken failures answer 500 and are reported', async () => {
      const reported: unknown[] = []
      const server = await start({
        identify: () => {
          throw new Error('session store down')
        },
        onError: (error) => reported.push(error),
      })
      expect(await upgradeStatus(server.socketUrl('["chat"]', 'token=alice'))).toBe(500)
      expect(reported).toHaveLength(1)
      expect(await closeCode(server.socketUrl('["chat"]', 'token=alice&refusal=close'))).toBe(4500)
    })

    test('a throwing authorize answers the request with an internal error and the connection keeps working', async () => {
      const reported: unknown[] = []
      const server = await start({
        authorize: (_user, [name]) => {
          if (name === 'broken') throw new Error('db down')
          return { subscribe: true, publish: true }
        },
        onError: (error) => reported.push(error),
      })
      const client = server.client('alice')
      await expect(client.publish(['broken'], 1)).rejects.toMatchObject({ code: 'internal' })
      await eventually(() => expect(reported).toHaveLength(1))
      await expect(client.publish(['fine'], 1)).resolves.toEqual({ seq: 1 })
    })

    test('a subscribe that authorize failed reports the error, then retries with backoff until it is live', async () => {
      let failures = 2
      const server = await start({
        authorize: () => {
          if (failures > 0) {
            failures--
            throw new Error('db down')
          }
          return { subscribe: true, publish: true }
        },
        onError: () => {},
      })
      const client = server.client('alice')
      const errors: RealtimeError[] = []
      const got: unknown[] = []
      let lives = 0
      const subscription = client.subscribe(['news'], (msg) => got.push(msg), {
        onError: (error) => errors.push(error),
        onLive: () => lives++,
      })
      await expect(subscription.ready).rejects.toMatchObject({ code: 'internal', retryable: true })
      await eventually(() => expect(lives).toBe(1))
      expect(errors.map((error) => error.code)).toEqual(['internal', 'internal'])
      await server.publish(['news'], 'back')
      await eventually(() => expect(got).toEqual(['back']))
    })
  })

  describe('bad input', () => {
    test('malformed JSON and unknown message types get an error; the connection stays open', async () => {
      const server = await start()
      const other = await bystander(server.client('bystander'))
      const socket = await raw(server, '["lobby"]')
      socket.send('{not json')
      expect(await socket.next((f) => f.t === 'err')).toMatchObject({
        code: 'invalid',
        msg: 'Frame is not valid JSON.',
      })
      expect(await socket.request({ t: 'launch', id: 7, ch: '["x"]' })).toMatchObject({
        t: 'err',
        id: 7,
        code: 'invalid',
      })
      expect(await socket.request({ t: 'sub', id: 8, ch: '["x", {"b":1,"a":2}]' })).toMatchObject({
        t: 'err',
        id: 8,
        code: 'invalid',
      })
      expect(await socket.request({ t: 'sub', id: 9, ch: '["x"]', since: { seq: -1, epoch: 'e' } })).toMatchObject({
        code: 'invalid',
      })
      expect(await socket.request({ t: 'pub', id: 10, ch: '["lobby"]', data: 'raw works' })).toMatchObject({
        t: 'ack',
      })
      await other.stillWorks('after garbage')
      expect(socket.ws.readyState).toBe(WebSocket.OPEN)
      socket.ws.close()
    })

    test('an oversized frame closes that socket with 1009; others keep working', async () => {
      const server = await start({ maxMessageBytes: 1000 })
      const other = await bystander(server.client('bystander'))
      const socket = await raw(server, '["lobby"]')
      expect(await socket.request({ t: 'pub', id: 1, ch: '["lobby"]', data: 'x'.repeat(1500) })).toMatchObject({
        code: 'too_large',
      })
      socket.send(JSON.stringify({ t: 'pub', id: 2, ch: '["lobby"]', data: 'x'.repeat(5000) }))
      expect((await socket.closed).code).toBe(1009)
      // The id-less err the protocol promises arrives before the close.
      expect(socket.frames.filter((frame) => frame.t === 'err' && frame.id === undefined)).toEqual([
        { t: 'err', code: 'too_large', msg: expect.stringMatching(/Frame larger than the server accepts/) },
      ])
      await other.stillWorks('after the big frame')
    })

    test('deeply nested payloads are answered once each with invalid; the limit is 64 levels', async () => {
      const server = await start()
      const other = await bystander(server.client('bystander'))
      const socket = await raw(server, '["lobby"]')
      const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`
      const objects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`
      const ch = JSON.stringify('["lobby"]')
      // About 10 KB frames nested thousands of levels: more than JSON.stringify's recursion takes.
      socket.send(`{"t":"pub","id":1,"ch":${ch},"data":${nested(5000)}}`)
      socket.send(`{"t":"pjoin","id":2,"ch":${ch},"state":${objects(2000)}}`)
      socket.send(`{"t":"pjoin","id":3,"ch":${ch},"state":{}}`)
      socket.send(`{"t":"pset","id":4,"ch":${ch},"patch":${objects(2000)}}`)
      socket.send(`{"t":"pub","id":5,"ch":${ch},"data":${nested(64)}}`)
      socket.send(`{"t":"pub","id":6,"ch":${ch},"data":${nested(65)}}`)
      socket.send(`{"t":"pjoin","id":7,"ch":${ch},"state":${objects(65)}}`)
      const barrier = await socket.request({ t: 'pub', id: 8, ch: '["lobby"]', data: 'barrier' })
      expect(barrier).toMatchObject({ t: 'ack' })
      const answers = socket.frames.filter((frame) => frame.t === 'ack' || frame.t === 'err')
      expect(answers.map((frame) => [frame.id, frame.code ?? frame.t])).toEqual([
        [1, 'invalid'],
        [2, 'invalid'],
        [3, 'ack'],
        [4, 'invalid'],
        [5, 'ack'],
        [6, 'invalid'],
        [7, 'invalid'],
        [8, 'ack'],
      ])
      expect(answers[0].msg).toMatch(/nested more than 64 levels/)
      await other.stillWorks('after deep nesting')
      socket.ws.close()
    })

    test('binary frames are refused with an id-less invalid error, with or without a byte-order mark', async () => {
      const server = await start()
      const socket = await raw(server, '["lobby"]')
      const frame = JSON.stringify({ t: 'pub', id: 1, ch: '["lobby"]', data: 'binary' })
      socket.ws.send(Buffer.from(frame))
      socket.ws.send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(frame)]))
      expect(await socket.request({ t: 'pub', id: 2, ch: '["lobby"]', data: 'text' })).toMatchObject({ t: 'ack' })
      const errors = socket.frames.filter((reply) => reply.t === 'err' || reply.id === 1)
      expect(errors).toEqual([
        { t: 'err', code: 'invalid', msg: expect.stringMatching(/Binary frames are not accepted/) },
        { t: 'err', code: 'invalid', msg: expect.stringMatching(/Binary frames are not accepted/) },
      ])
      socket.ws.close()
    })

    test('a flood is rate limited, then disconnected; the client paces itself; others keep working', async () => {
      const server = await start({ rateLimit: { perSecond: 10, burst: 20 } })
      const other = await bystander(server.client('bystander'))
      const socket = await raw(server, '["lobby"]', 'raw-flooder')
      for (let i = 1; i <= 100; i++) socket.send({ t: 'pub', id: i, ch: '["lobby"]', data: i })
      expect((await socket.closed).code).toBe(4029)
      const refused = socket.frames.filter((frame) => frame.t === 'err').map((frame) => frame.code)
      expect(refused.length).toBeGreaterThan(0)
      expect(new Set(refused)).toEqual(new Set(['rate_limited']))

      // The real client paces itself to the limit the server announced: nothing is refused.
      const client = server.client('polite')
      const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => client.publish(['lobby'], i)))
      expect(results.filter((result) => result.status === 'rejected')).toEqual([])
      await other.stillWorks('after the flood')
    })

    test('an unsupported protocol version is closed with 4400', async () => {
      const server = await start()
      expect(await closeCode(server.socketUrl('["chat"]', 'v=99&token=alice'))).toBe(4400)
    })
  })

  describe('presence', () => {
    const editor = presenceChannel<{ documentId: string }, { name: string; cursor: { x: number; y: number } | null }>(
      'editor',
    )

    test('join, update and leave are seen by the other client', async () => {
      const server = await start()
      const alice = server.client('alice')
      const bob = server.client('bob')
      const alicePresence = getPresence(alice, editor({ documentId: 'd1' }))
      const bobPresence = getPresence(bob, editor({ documentId: 'd1' }))

      await alicePresence.enter({ name: 'Alice', cursor: null }).ready
      const bobLeave = bobPresence.enter({ name: 'Bob', cursor: null })
      await bobLeave.ready

      // Bob got the full list on join; Alice got Bob's join as a diff.
      expect(bobPresence.getSnapshot().others).toEqual([
        { connectionId: alice.connectionId, userId: 'alice', state: { name: 'Alice', cursor: null } },
      ])
      await eventually(() =>
        expect(alicePresence.getSnapshot().others).toEqual([
          { connectionId: bob.connectionId, userId: 'bob', state: { name: 'Bob', cursor: null } },
        ]),
      )
      expect(bobPresence.getSnapshot().self).toEqual({
        connectionId: bob.connectionId,
        userId: 'bob',
        state: { name: 'Bob', cursor: null },
      })

      bobPresence.update({ cursor: { x: 10, y: 20 } })
      expect(bobPresence.getSnapshot().self?.state.cursor).toEqual({ x: 10, y: 20 })
      await eventually(() =>
        expect(alicePresence.getSnapshot().others[0]?.state).toEqual({ name: 'Bob', cursor: { x: 10, y: 20 } }),
      )

      bobLeave()
      await eventually(() => expect(alicePresence.getSnapshot().others).toEqual([]))
      expect(bobPresence.getSnapshot().status).toBe('idle')
    })

    test('a member whose socket dies is removed after the grace period', async () => {
      const server = await start({ presenceGraceMs: 100 })
      const alice = server.client('alice')
      const presence = getPresence(alice, ['room'])
      await presence.enter({}).ready

      const socket = await raw(server, '["room"]', 'mallory')
      await socket.request({ t: 'pjoin', id: 1, ch: '["room"]', state: { name: 'M' } })
      await eventually(() => expect(presence.getSnapshot().others.map((m) => m.userId)).toEqual(['mallory']))
      socket.ws.terminate()
      await eventually(() => expect(presence.getSnapshot().others).toEqual([]))
    })

    test('a member who says goodbye (disconnect, page unload) leaves at once despite the grace period', async () => {
      const server = await start({ presenceGraceMs: 60_000 })
      const bob = server.client('bob')
      const watcher = getPresence(bob, ['room'])
      await watcher.enter({}).ready
      const alice = server.client('alice')
      await getPresence(alice, ['room']).enter({}).ready
      await eventually(() => expect(watcher.getSnapshot().others.map((m) => m.userId)).toEqual(['alice']))
      alice.disconnect() // close code 1000; a browser unloading a page sends 1001
      await eventually(() => expect(watcher.getSnapshot().others).toEqual([]))

      const socket = await raw(server, '["room"]', 'carol')
      await socket.request({ t: 'pjoin', id: 1, ch: '["room"]', state: {} })
      await eventually(() => expect(watcher.getSnapshot().others.map((m) => m.userId)).toEqual(['carol']))
      socket.ws.close(1001)
      await eventually(() => expect(watcher.getSnapshot().others).toEqual([]))
    })

    test('a quick reconnect within the grace period shows others no leave and no join', async () => {
      const server = await start({ presenceGraceMs: 5000 })
      const proxy = await startProxy(server.port)
      const alice = server.client('alice', { url: proxy.url })
      const bob = server.client('bob')
      const alicePresence = getPresence(alice, ['room'])
      await alicePresence.enter({ name: 'Alice' }).ready
      const bobPresence = getPresence(bob, ['room'])
      await bobPresence.enter({ name: 'Bob' }).ready
      const aliceId = alice.connectionId

      const seenByBob: string[][] = []
      bobPresence.subscribe(() => seenByBob.push(bobPresence.getSnapshot().others.map((m) => m.connectionId)))
      const statuses = recordStatuses(alice)
      proxy.cut()
      await eventually(() => expect(statuses.slice(-2)).toEqual(['reconnecting', 'connected']))
      await eventually(() => expect(alicePresence.getSnapshot().status).toBe('joined'))
      expect(alice.connectionId).toBe(aliceId) // the connection resumed its identity
      alicePresence.update({ name: 'Alice again' })
      await eventually(() => expect(bobPresence.getSnapshot().others[0]?.state).toEqual({ name: 'Alice again' }))
      // Bob never saw Alice disappear.
      expect(seenByBob.every((others) => others.length === 1 && others[0] === aliceId)).toBe(true)
      await proxy.close()
    })

    test('two tabs of one user are two members with the same user id', async () => {
      const server = await start()
      const tab1 = server.client('alice')
      const tab2 = server.client('alice')
      const observer = server.client('bob')
      await getPresence(tab1, ['room']).enter({ tab: 1 }).ready
      await getPresence(tab2, ['room']).enter({ tab: 2 }).ready
      const presence = getPresence(observer, ['room'])
      await presence.enter({ tab: 0 }).ready
      const others = presence.getSnapshot().others
      expect(others.map((m) => m.userId)).toEqual(['alice', 'alice'])
      expect(new Set(others.map((m) => m.connectionId)).size).toBe(2)
      expect(others.map((m) => m.state)).toEqual([{ tab: 1 }, { tab: 2 }])
    })

    test('parts of one client entering one channel share one membership', async () => {
      const server = await start()
      const alice = server.client('alice')
      const bob = server.client('bob')
      const watcher = getPresence(bob, ['room'])
      await watcher.enter({}).ready
      const first = getPresence(alice, ['room']).enter({ name: 'Alice' })
      const second = getPresence(alice, ['room']).enter({ name: 'ignored while shared' })
      await Promise.all([first.ready, second.ready])
      await eventually(() => expect(watcher.getSnapshot().others).toHaveLength(1))
      first()
      await sleep(50)
      expect(watcher.getSnapshot().others).toHaveLength(1)
      second()
      await eventually(() => expect(watcher.getSnapshot().others).toHaveLength(0))
    })

    test('presence state over the size limit is refused', async () => {
      const server = await start({ maxPresenceBytes: 100 })
      const alice = server.client('alice')
      const presence = getPresence(alice, ['room'])
      await presence.enter({ name: 'A' }).ready
      expect(() => presence.update({ name: 'x'.repeat(200) })).toThrow(TooLargeError)
      expect(presence.getSnapshot().self?.state).toEqual({ name: 'A' })

      const socket = await raw(server, '["room"]', 'mallory')
      const reply = await socket.request({ t: 'pjoin', id: 1, ch: '["room"]', state: { blob: 'x'.repeat(200) } })
      expect(reply).toMatchObject({ t: 'err', code: 'too_large' })
      socket.ws.close()
    })
  })

  rewindAndRetriesSuite(start)
  schemasAndHooksSuite(start)
}
