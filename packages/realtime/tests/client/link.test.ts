import { CloseCodes, ForbiddenError, InvalidError, ServerError, UnauthorizedError } from '@tanstack/realtime'
import { expect, test } from 'vitest'
import { fakeClients, fakeServer, settle } from './fake-server.js'

const make = fakeClients()

test('the client asks servers to refuse by closing (refusal=close), with the protocol version', async () => {
  const server = fakeServer()
  make(server).connect()
  await settle()
  expect(server.last.params).toMatchObject({ v: '1', refusal: 'close' })
})

test('4401: the token is asked for once more at once; refused again, the client stops with status refused', async () => {
  let refuse = true
  const server = fakeServer({ accept: () => (refuse ? CloseCodes.Unauthorized : 'hello') })
  const client = make(server)
  const statuses: string[] = []
  client.status.subscribe(() => statuses.push(client.status.getSnapshot()))
  const subscription = client.subscribe(['chat'], () => {})
  const publish = expect(client.publish(['chat'], 'x')).rejects.toBeInstanceOf(UnauthorizedError)
  await settle()
  expect(server.sockets).toHaveLength(2) // a second attempt at once, with a fresh token
  await expect(subscription.ready).rejects.toBeInstanceOf(UnauthorizedError)
  await publish
  expect(client.status.getSnapshot()).toBe('refused')
  expect(client.error).toBeInstanceOf(UnauthorizedError)
  expect(subscription.state.getSnapshot()).toMatchObject({ status: 'failed', error: client.error })
  await settle(60_000)
  expect(server.sockets).toHaveLength(2) // no retry loop
  // Asked again on demand: connect() (after signing in, say).
  refuse = false
  client.connect()
  await settle()
  expect(client.status.getSnapshot()).toBe('connected')
  expect(client.error).toBeUndefined()
  expect(subscription.state.getSnapshot()).toEqual({ status: 'live', error: undefined })
  expect(statuses).toEqual(['connecting', 'refused', 'connecting', 'connected'])
})

test('a request made while refused asks again: a refused request fails with the reason', async () => {
  const server = fakeServer({ accept: () => CloseCodes.Unauthorized })
  const client = make(server)
  client.connect()
  await settle()
  expect(server.sockets).toHaveLength(2)
  await expect(client.publish(['chat'], 'x')).rejects.toBeInstanceOf(UnauthorizedError)
  expect(server.sockets).toHaveLength(4)
})

test('4403 on the shared connection (Origin) is final: ForbiddenError with the server’s reason, no retries', async () => {
  const server = fakeServer({ accept: () => CloseCodes.Forbidden })
  const client = make(server)
  const subscription = client.subscribe(['chat'], () => {})
  await expect(subscription.ready).rejects.toBeInstanceOf(ForbiddenError)
  await settle(60_000)
  expect(server.sockets).toHaveLength(1)
  expect(client.status.getSnapshot()).toBe('refused')
  expect(client.error?.message).toContain('refused')
})

test('4500 and 4404 are reported and retried with backoff; a drop is retried silently', async () => {
  const codes = [CloseCodes.ServerError, CloseCodes.NotFound, 1006]
  const server = fakeServer({ accept: (socket) => codes[server.sockets.indexOf(socket)] ?? 'hello' })
  const client = make(server)
  const errors: unknown[] = []
  const subscription = client.subscribe(['chat'], () => {}, { onError: (error) => errors.push(error) })
  await settle()
  expect(errors).toHaveLength(1)
  expect(errors[0]).toBeInstanceOf(ServerError)
  expect(subscription.state.getSnapshot()).toEqual({ status: 'subscribing', error: errors[0] })
  expect(client.status.getSnapshot()).toBe('reconnecting')
  await settle(100)
  expect(errors[1]).toBeInstanceOf(InvalidError)
  await settle(100)
  await settle(100)
  expect(errors).toHaveLength(2)
  await subscription.ready.catch(() => {})
  expect(subscription.state.getSnapshot()).toEqual({ status: 'live', error: undefined })
  expect(client.status.getSnapshot()).toBe('connected')
})

test('4400 (protocol version) closes the client: status disconnected, InvalidError, until connect()', async () => {
  const server = fakeServer({
    accept: (socket) => (server.sockets.indexOf(socket) === 0 ? CloseCodes.ProtocolError : 'hello'),
  })
  const client = make(server)
  const subscription = client.subscribe(['chat'], () => {})
  await expect(subscription.ready).rejects.toBeInstanceOf(InvalidError)
  expect(client.status.getSnapshot()).toBe('disconnected')
  expect(client.error).toBeInstanceOf(InvalidError)
  await expect(client.publish(['chat'], 'x')).rejects.toBeInstanceOf(InvalidError)
  client.connect()
  await settle()
  expect(client.status.getSnapshot()).toBe('connected')
})

test('per channel: 4403 fails that channel only (the client is refused when every channel is); 4401 refuses the client', async () => {
  const server = fakeServer({
    mode: 'per-channel',
    accept: (socket) =>
      socket.channel === '["secret"]' ? CloseCodes.Forbidden : socket.channel === '["locked"]' ? 4401 : 'hello',
  })
  const client = make(server)
  const alone = client.subscribe(['secret'], () => {})
  await expect(alone.ready).rejects.toBeInstanceOf(ForbiddenError)
  expect(client.status.getSnapshot()).toBe('refused') // its only connection was refused (an Origin refuses them all)
  alone()
  await settle()
  const open = client.subscribe(['open'], () => {})
  const secret = client.subscribe(['secret'], () => {})
  await expect(secret.ready).rejects.toThrow('Not allowed on ["secret"].')
  await open.ready
  expect(client.status.getSnapshot()).toBe('connected')
  expect(client.error).toBeUndefined()
  secret() // nothing else uses the denied channel: its link is released
  await settle()
  const locked = client.subscribe(['locked'], () => {})
  await expect(locked.ready).rejects.toBeInstanceOf(UnauthorizedError)
  expect(client.status.getSnapshot()).toBe('refused')
  expect(open.state.getSnapshot().status).toBe('live')
})
