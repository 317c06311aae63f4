import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createRealtimeClient, getPresence, InvalidError, TooLargeError, UnauthorizedError } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { afterEach, expect, test } from 'vitest'
import { closeClients, eventually, makeClient, startServer, type TestServer } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('pending'), ms))])

test('after disconnect() nothing looks live, and connect() brings it back', async () => {
  server = await startServer()
  const client = makeClient(server, 'alice')
  await client.subscribe(['chat'], () => {}).ready
  const presence = getPresence(client, ['room'])
  await presence.enter({ name: 'A' }).ready
  client.disconnect()
  expect(presence.getSnapshot().status).toBe('joining')
  const again = client.subscribe(['chat'], () => {})
  expect(await settledWithin(again.ready, 50)).toBe('pending')
  client.connect()
  await again.ready
  await eventually(() => expect(presence.getSnapshot().status).toBe('joined'))
})

test('presence changes made while the join is in flight reach the others', async () => {
  server = await startServer()
  const alice = makeClient(server, 'alice')
  const bob = makeClient(server, 'bob')
  const watcher = getPresence(bob, ['room'])
  await watcher.enter({ name: 'Bob' }).ready
  const presence = getPresence(alice, ['room'])
  presence.enter({ name: 'Alice', cursor: 0 })
  presence.update({ cursor: 1 }) // before the server answered the join
  await eventually(() => expect(watcher.getSnapshot().others[0]?.state).toEqual({ name: 'Alice', cursor: 1 }))
})

test('a presence state over the limit fails enter() without leaving the channel stuck', async () => {
  server = await startServer({ maxPresenceBytes: 100 })
  const client = makeClient(server, 'alice')
  await client.subscribe(['warm-up'], () => {}).ready // limits are known once connected
  const presence = getPresence(client, ['room'])
  expect(() => presence.enter({ blob: 'x'.repeat(200) })).toThrow(TooLargeError)
  expect(presence.active).toBe(false)
  await presence.enter({ name: 'small' }).ready
  expect(presence.getSnapshot().status).toBe('joined')
})

test('a refused connection (401) fails what waits with UnauthorizedError, stops, and recovers on connect()', async () => {
  server = await startServer()
  let token: string | null = null
  let asked = 0
  const client = createRealtimeClient({
    transport: nodeTransport({
      url: server.url,
      getAuthToken: () => {
        asked++
        return token
      },
    }),
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  })
  const errors: unknown[] = []
  const lives: unknown[] = []
  const subscription = client.subscribe(['chat'], () => {}, {
    onError: (error) => errors.push(error),
    onLive: (info) => lives.push(info),
  })
  await expect(subscription.ready).rejects.toThrow(UnauthorizedError)
  // The token was asked for twice (a refreshed one may be accepted), then the client stopped.
  expect(asked).toBe(2)
  expect(client.status.getSnapshot()).toBe('refused')
  expect(client.error).toBeInstanceOf(UnauthorizedError)
  expect(subscription.state.getSnapshot()).toMatchObject({ status: 'failed', error: errors[0] })
  expect(errors[0]).toBeInstanceOf(UnauthorizedError)
  // A request asks again, on demand: refused again, it fails with the reason.
  await expect(client.publish(['chat'], 'x')).rejects.toThrow(UnauthorizedError)
  expect(asked).toBe(4)
  token = 'alice'
  client.connect() // after signing in
  await eventually(() => expect(lives).toHaveLength(1))
  expect(client.status.getSnapshot()).toBe('connected')
  expect(client.error).toBeUndefined()
  expect(subscription.state.getSnapshot()).toEqual({ status: 'live', error: undefined })
  client.disconnect()
})

test('data JSON cannot carry is refused with InvalidError', async () => {
  server = await startServer()
  const client = makeClient(server, 'alice')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  await expect(client.publish(['chat'], cyclic)).rejects.toThrow(InvalidError)
  await expect(client.publish(['chat'], 10n as never)).rejects.toThrow(InvalidError)
  await expect(client.publish(['chat'], undefined)).rejects.toThrow(InvalidError)
})

test('an awaited publish to an unreachable server rejects in bounded time, even when nothing else keeps Node alive', async () => {
  // A port that nothing listens on: take a free one, then close it.
  const probe = createNetServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  const script = fileURLToPath(new URL('./fixtures/publish-unreachable.js', import.meta.url))
  const child = spawn(process.execPath, [script, `ws://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  const [code] = await once(child, 'exit')
  expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'rejected: OfflineError' })
})
