import {
  ConnectionLostError,
  collectionSnapshot,
  collectionWrite,
  OfflineError,
  TimeoutError,
} from '@tanstack/realtime'
import { expect, test } from 'vitest'
import { fakeClients, fakeServer, settle } from './fake-server.js'

const makeClient = fakeClients()
const make = (server: ReturnType<typeof fakeServer>, requestTimeoutMs = 1000) =>
  makeClient(server, { requestTimeoutMs })

test('every publish and write carries a fresh idempotency key', async () => {
  const server = fakeServer()
  const client = make(server)
  await client.publish(['chat'], 'a')
  await client.publish(['chat'], 'b')
  await collectionWrite(client, ['todos'], [{ type: 'delete', key: 1 }])
  const keys = [...server.sentOf('pub'), ...server.sentOf('write')].map((request) => request.frame.idem)
  expect(new Set(keys).size).toBe(3)
  for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{16,64}$/)
})

test('a publish in flight when the connection drops is sent again with the same key, first, and resolves once', async () => {
  let answer = false
  const server = fakeServer({
    // The first socket never answers publishes: the connection drops with the outcome unknown.
    respond: (frame, socket) => (frame.t === 'pub' && socket === server.sockets[0] && !answer ? 'silence' : undefined),
  })
  const client = make(server, 5000)
  const results: unknown[] = []
  const first = client.publish(['chat'], 'first').then((ack) => results.push(ack))
  const second = client.publish(['chat'], 'second').then((ack) => results.push(ack))
  await settle()
  expect(server.sentOf('pub').map((request) => request.frame.data)).toEqual(['first', 'second'])
  const keys = server.sentOf('pub').map((request) => request.frame.idem)
  server.last.drop()
  await settle(100) // the reconnect
  answer = true
  await Promise.all([first, second])
  const again = server.sentOf('pub').slice(2)
  expect(again.map((request) => [request.frame.data, request.frame.idem])).toEqual([
    ['first', keys[0]],
    ['second', keys[1]],
  ])
  expect(again.every((request) => request.socket === server.sockets[1])).toBe(true)
  expect(results).toEqual([{ seq: 1 }, { seq: 2 }])
})

test('other requests in flight fail with ConnectionLostError; requests never sent wait for the connection', async () => {
  const server = fakeServer({ respond: (frame) => (frame.t === 'snap' ? 'silence' : undefined) })
  const client = make(server, 5000)
  const snapshot = collectionSnapshot(client, ['todos'])
  await settle()
  server.last.drop()
  await expect(snapshot).rejects.toBeInstanceOf(ConnectionLostError)
  await expect(snapshot).rejects.toMatchObject({ code: 'connection_lost', retryable: true })
  // Made while reconnecting: queued, sent once the connection is back.
  const queued = client.publish(['chat'], 'queued')
  await settle(100)
  await expect(queued).resolves.toEqual({ seq: 1 })
})

test('timeouts say whether the request was sent: Offline (never), ConnectionLost (sent, then dropped), Timeout (no answer)', async () => {
  const server = fakeServer({
    respond: () => 'silence',
    accept: (socket) => (socket === server.sockets[0] ? 'hello' : 'hang'),
  })
  const client = make(server, 1000)
  const unanswered = client.publish(['chat'], 'sent')
  await settle()
  const timedOut = expect(unanswered).rejects.toBeInstanceOf(TimeoutError)
  await settle(1000)
  await timedOut

  const dropped = client.publish(['chat'], 'dropped')
  await settle()
  server.last.drop() // the next socket never opens
  const lost = expect(dropped).rejects.toBeInstanceOf(ConnectionLostError)
  const neverSent = expect(client.publish(['chat'], 'never sent')).rejects.toBeInstanceOf(OfflineError)
  await settle(1000)
  await lost
  await neverSent
})

test('disconnect() fails sent requests with ConnectionLostError and queued ones with OfflineError', async () => {
  const server = fakeServer({ respond: () => 'silence' })
  const client = make(server, 5000)
  const sent = client.publish(['chat'], 'sent')
  await settle()
  client.disconnect()
  await expect(sent).rejects.toBeInstanceOf(ConnectionLostError)
  await expect(client.publish(['chat'], 'after')).rejects.toBeInstanceOf(OfflineError)
})
