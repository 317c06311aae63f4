import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import type { Permissions } from '../../src/server/session/authorize.js'
import { fakeServer, flush } from './fakes.js'

// One connection's rules, written once for every host: admission, rate limit, one request at a
// time with a bounded backlog, exactly one answer per request.

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

test('pings are answered; bad frames get an error without id; an oversized frame closes with 1009 after its err', () => {
  const server = fakeServer({ maxMessageBytes: 100, maxPresenceBytes: 100 })
  const client = server.connect('alice')
  client.send({ t: 'ping' })
  client.send('{nope')
  client.session.receive(new TextEncoder().encode('{"t":"ping"}'))
  client.send({ t: 'sub', id: 1, ch: 'not a key' })
  expect(client.frames.map((frame) => (frame.t === 'err' ? `${frame.code} ${frame.id ?? '-'}` : frame.t))).toEqual([
    'pong',
    'invalid -',
    'invalid -',
    'invalid 1',
  ])
  client.send({ t: 'pub', id: 2, ch: '["a"]', data: 'x'.repeat(2000) })
  expect(client.frames.at(-1)).toMatchObject({ t: 'err', code: 'too_large' })
  expect(client.closes).toEqual([{ code: 1009, reason: 'frame too large' }])
  expect(client.session.open).toBe(false)
})

test('the rate limit refuses past the burst, refills with time, and closes a flood with 4029', () => {
  const server = fakeServer({ rateLimit: { perSecond: 2, burst: 2 } })
  const client = server.connect('alice')
  const publish = (id: number) => client.send({ t: 'pub', id, ch: '["a"]', data: id })
  for (let id = 1; id <= 3; id++) publish(id)
  expect(client.answers().map((frame) => frame.code ?? frame.t)).toEqual(['ack', 'ack', 'rate_limited'])
  vi.advanceTimersByTime(1000) // two tokens back (the deficit of one first)
  publish(4)
  expect(client.answers().at(-1)).toMatchObject({ t: 'ack', id: 4 })
  for (let id = 5; id <= 10 && client.session.open; id++) publish(id)
  expect(client.closes).toEqual([{ code: 4029, reason: 'rate limit exceeded' }])
})

test('requests wait for the one in progress and are answered in order; pings are answered meanwhile', async () => {
  let grant!: (permissions: Permissions) => void
  const server = fakeServer({
    permissions: (ch) =>
      ch === '["slow"]'
        ? new Promise<Permissions>((resolve) => {
            grant = resolve
          })
        : { subscribe: true, publish: true },
  })
  const client = server.connect('alice')
  const done = client.send({ t: 'sub', id: 1, ch: '["slow"]' })
  expect(client.send({ t: 'pub', id: 2, ch: '["fast"]', data: 1 })).toBe(done)
  client.send({ t: 'ping' })
  expect(client.frames).toEqual([{ t: 'pong' }])
  grant({ subscribe: true })
  await done
  expect(client.answers().map((frame) => frame.id)).toEqual([1, 2])
})

test('a backlog past 1024 frames behind a slow request closes the connection with 4029', async () => {
  const server = fakeServer({ permissions: () => new Promise<Permissions>(() => {}) })
  const client = server.connect('alice')
  client.send({ t: 'sub', id: 1, ch: '["stuck"]' })
  for (let id = 2; id <= 1030 && client.session.open; id++) client.send({ t: 'unsub', id, ch: '["x"]' })
  expect(client.closes).toEqual([{ code: 4029, reason: 'too many requests waiting' }])
  expect(server.ended).toEqual([client.session])
})

test('a request whose handling throws, rejects, or forgets to answer is answered once with internal', async () => {
  const server = fakeServer({
    permissions: (ch) => {
      if (ch === '["throws"]') throw new Error('authorize failed')
      if (ch === '["rejects"]') return Promise.reject(new Error('authorize failed later'))
      return { subscribe: true, publish: true }
    },
  })
  const client = server.connect('alice')
  client.send({ t: 'pub', id: 1, ch: '["throws"]', data: 1 })
  await client.send({ t: 'pub', id: 2, ch: '["rejects"]', data: 1 })
  // A port that throws.
  const broken = server.channel('["broken"]')
  broken.log.append = () => {
    throw new Error('storage down')
  }
  client.send({ t: 'pub', id: 3, ch: '["broken"]', data: 1 })
  await flush()
  expect(client.answers()).toEqual([
    { t: 'err', id: 1, code: 'internal', msg: 'The server failed to authorize this request.' },
    { t: 'err', id: 2, code: 'internal', msg: 'The server failed to authorize this request.' },
    { t: 'err', id: 3, code: 'internal', msg: 'The server failed to handle this request.' },
  ])
  expect(server.reported).toHaveLength(3)
})
