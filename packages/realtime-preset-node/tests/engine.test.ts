import { getPresence } from '@tanstack/realtime'
import { type ChannelPorts, type ChannelStore, MemoryChannelStore } from '@tanstack/realtime/server'
import { afterEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { closeClients, eventually, makeClient, rawClient, startProxy, startServer, type TestServer } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

test('only the client holding the resume secret takes over a connection, not another connection of the user', async () => {
  server = await startServer({ presenceGraceMs: 5000 })
  const first = await rawClient(server.url, 'alice')
  const hello = first.frames.find((frame) => frame.t === 'hello')
  expect(hello.resume).toMatch(/^[A-Za-z0-9]{24}$/)
  // Knowing the public connection id is not enough.
  const other = await rawClient(server.url, 'alice', `v=1&resume=${hello.cid}`)
  const otherHello = other.frames.find((frame) => frame.t === 'hello')
  expect(otherHello).toMatchObject({ resumed: false })
  expect(otherHello.cid).not.toBe(hello.cid)
  // Another user's secret is not enough either.
  const mallory = await rawClient(server.url, 'mallory', `v=1&resume=${hello.resume}`)
  expect(mallory.frames.find((frame) => frame.t === 'hello').cid).not.toBe(hello.cid)
  expect(server.realtime.engine.stats().connections).toBe(3)
  for (const raw of [first, other, mallory]) raw.ws.close()
})

test('a member who leaves while disconnected is gone for others after the grace period, even on resume', async () => {
  server = await startServer({ presenceGraceMs: 300 })
  const proxy = await startProxy(server.port)
  const alice = makeClient(proxy, 'alice')
  const bob = makeClient(server, 'bob')
  const leave = getPresence(alice, ['room']).enter({ name: 'Alice' })
  await leave.ready
  const bobPresence = getPresence(bob, ['room'])
  await bobPresence.enter({ name: 'Bob' }).ready
  expect(bobPresence.getSnapshot().others).toHaveLength(1)

  proxy.block()
  proxy.cut()
  await eventually(() => expect(alice.status.getSnapshot()).toBe('reconnecting'))
  leave() // while away: no leave can be sent
  proxy.unblock()
  await eventually(() => expect(alice.status.getSnapshot()).toBe('connected'))
  await eventually(() => expect(bobPresence.getSnapshot().others).toEqual([]), 3000)
  await proxy.close()
})

test('requests queued behind a slow one are bounded, and heartbeats are answered meanwhile', async () => {
  let release!: () => void
  const slow = new Promise<void>((resolve) => {
    release = resolve
  })
  server = await startServer({
    rateLimit: false,
    authorize: async () => {
      await slow
      return { subscribe: true, publish: true }
    },
  })
  const raw = await rawClient(server.url, 'alice')
  raw.send({ t: 'sub', id: 1, ch: '["slow"]' }) // waits on authorize
  raw.send({ t: 'ping' })
  expect(await raw.next((frame) => frame.t === 'pong')).toEqual({ t: 'pong' })
  for (let id = 2; id <= 1100; id++) raw.send({ t: 'unsub', id, ch: '["slow"]' })
  expect((await raw.closed).code).toBe(4029)
  release()
})

test('a flood of malformed frames is rate limited like any other', async () => {
  server = await startServer({ rateLimit: { perSecond: 10, burst: 20 } })
  const raw = await rawClient(server.url, 'garbage')
  for (let i = 0; i < 100; i++) raw.send('{not json')
  expect((await raw.closed).code).toBe(4029)
  expect(raw.frames.some((frame) => frame.code === 'rate_limited')).toBe(true)
})

test('a client with a wrong protocol version that then sends garbage cannot crash the server', async () => {
  server = await startServer()
  const { createConnection } = await import('node:net')
  const socket = createConnection(server.port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(
    'GET /_realtime?v=99&token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  )
  await new Promise((resolve) => socket.once('data', resolve))
  const ended = new Promise((resolve) => socket.once('close', resolve))
  socket.write(Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])) // an unmasked frame: a protocol error
  // The barrier: the server read the garbage and ended the connection (this side never closes it).
  await ended
  // Still serving.
  const client = makeClient(server, 'alice')
  await client.subscribe(['still-up'], () => {}).ready
})

test('a request whose handling throws or rejects unexpectedly is answered with internal and reported', async () => {
  const memory = new MemoryChannelStore()
  const reported: unknown[] = []
  /** The object with `method` failing as `failure` does, the rest of it untouched. */
  const failing = <T extends object>(target: T, method: string, failure: () => unknown): T =>
    new Proxy(target, {
      get(object, name) {
        if (name === method) return failure
        const value = Reflect.get(object, name, object)
        return typeof value === 'function' ? value.bind(object) : value
      },
    })
  // A store failing on some channels, synchronously or asynchronously (as a remote store can).
  const fail = () => {
    throw new Error('store failed')
  }
  const store: ChannelStore = {
    open(ch) {
      const ports = memory.open(ch)
      const failed = (part: Partial<ChannelPorts>): ChannelPorts => ({
        ch,
        log: part.log ?? ports.log,
        members: part.members ?? ports.members,
        subscribers: ports.subscribers,
      })
      if (ch === '["sync"]')
        return failed({ log: failing(ports.log, 'append', fail), members: failing(ports.members, 'join', fail) })
      if (ch === '["async"]')
        return failed({ log: failing(ports.log, 'append', () => Promise.reject(new Error('later'))) })
      return ports
    },
    find: (ch) => memory.find(ch),
    activeCount: () => memory.activeCount(),
    subscriberCount: (ch) => memory.subscriberCount(ch),
    close: () => memory.close(),
  }
  server = await startServer({ store, onError: (error) => reported.push(error) })
  const raw = await rawClient(server.url, 'alice')
  const internal = { t: 'err', code: 'internal', msg: 'The server failed to handle this request.' }
  expect(await raw.request({ t: 'pub', id: 1, ch: '["sync"]', data: 1 })).toEqual({ id: 1, ...internal })
  expect(await raw.request({ t: 'pub', id: 2, ch: '["async"]', data: 1 })).toEqual({ id: 2, ...internal })
  expect(await raw.request({ t: 'pjoin', id: 3, ch: '["sync"]', state: {} })).toEqual({ id: 3, ...internal })
  expect(await raw.request({ t: 'pub', id: 4, ch: '["fine"]', data: 1 })).toEqual({ t: 'ack', id: 4, seq: 1 })
  expect(raw.frames.filter((frame) => frame.id !== undefined)).toHaveLength(4) // one answer each
  expect(reported).toHaveLength(3)
})

test('a throwing or rejecting authorize answers every kind of request with a retryable internal error', async () => {
  const reported: unknown[] = []
  let asked = 0
  server = await startServer({
    authorize: (_user, [name]) => {
      asked++
      if (name === 'sync') throw new Error('db down')
      if (name === 'async') return Promise.reject(new Error('db down'))
      return { subscribe: true, publish: true, presence: true }
    },
    onError: (error) => reported.push(error),
  })
  const raw = await rawClient(server.url, 'alice')
  let id = 0
  for (const ch of ['["sync"]', '["async"]']) {
    for (const frame of [{ t: 'sub' }, { t: 'pub', data: 1 }, { t: 'pjoin', state: {} }]) {
      expect(await raw.request({ ...frame, id: ++id, ch })).toMatchObject({ t: 'err', id, code: 'internal' })
    }
  }
  // A failure is not cached: each request asked again, and each failure was reported.
  expect(asked).toBe(6)
  expect(reported).toHaveLength(6)
  const client = makeClient(server, 'bob')
  await expect(client.publish(['sync'], 1)).rejects.toMatchObject({ name: 'ServerError', retryable: true })
})

test('a socket that stops answering pings is cut by the heartbeat, and the engine lets go of it', async () => {
  server = await startServer({ heartbeatMs: 20 })
  const silent = new WebSocket(`${server.url}/_realtime?v=1&token=bob`, { autoPong: false })
  let pings = 0
  silent.on('ping', () => pings++)
  const closed = new Promise<number>((resolve) => silent.once('close', resolve))
  await new Promise((resolve) => silent.once('open', resolve))
  // Cut without a close frame (terminated), after a ping it left unanswered.
  expect(await closed).toBe(1006)
  expect(pings).toBeGreaterThanOrEqual(1)
  await eventually(() => expect(server?.realtime.engine.stats().connections).toBe(0))
  await makeClient(server, 'alice').subscribe(['still-up'], () => {}).ready
})
