import { ForbiddenError, type RealtimeError } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import {
  closeClients,
  eventually,
  makeClient,
  startServer,
  statusBecomes,
  type TestServer,
  upgradeStatus,
} from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

test('authorize denies subscribe, publish and presence separately, each with its typed error', async () => {
  const asked: Array<[string, unknown]> = []
  server = await startServer({
    async authorize(userId, channel) {
      asked.push([userId, channel])
      const [name] = channel
      if (name === 'read-only') return { subscribe: true, publish: false, presence: true }
      if (name === 'write-only') return { subscribe: false, publish: true, presence: false }
      return null
    },
  })
  const client = makeClient(server, 'alice')

  const errors: RealtimeError[] = []
  const denied = client.subscribe(['write-only'], () => {}, { onError: (error) => errors.push(error) })
  await expect(denied.ready).rejects.toThrow(ForbiddenError)
  expect(errors.map((error) => error.code)).toEqual(['forbidden'])

  await expect(client.publish(['read-only'], 'x')).rejects.toThrow(ForbiddenError)
  await expect(client.publish(['write-only'], 'allowed')).resolves.toEqual({ seq: 1 })

  const presence = client.presence(['write-only'])
  const leave = presence.enter({ name: 'alice' })
  await expect(leave.ready).rejects.toThrow(ForbiddenError)
  expect(presence.getSnapshot().status).toBe('error')
  expect(presence.getSnapshot().error).toBeInstanceOf(ForbiddenError)

  await expect(client.publish(['nothing'], 'x')).rejects.toMatchObject({ code: 'forbidden', retryable: false })
  await client.subscribe(['read-only'], () => {}).ready
  await client.presence(['read-only']).enter({ name: 'alice' }).ready
  // authorize receives the parsed key and the identity from getAuthToken.
  expect(asked).toContainEqual(['alice', ['read-only']])
})

test('an upgrade without identity is refused with 401, and the client keeps retrying', async () => {
  server = await startServer()
  expect(await upgradeStatus(`${server.url}/_realtime?v=1`)).toBe(401)
  expect(await upgradeStatus(`${server.url}/_realtime?v=1&token=alice`)).toBe(101)

  let token: string | null = null
  const { createRealtimeClient } = await import('@tanstack/realtime')
  const { nodeTransport } = await import('@tanstack/realtime-preset-node')
  const client = createRealtimeClient({
    transport: nodeTransport({ url: server.url, getAuthToken: () => token }),
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  })
  client.connect()
  await statusBecomes(client, 'reconnecting')
  token = 'alice' // the token is asked for again on every attempt
  await statusBecomes(client, 'connected')
  expect(client.userId).toBe('alice')
  client.disconnect()
})

test('a wrong path is not upgraded', async () => {
  server = await startServer()
  expect(await upgradeStatus(`${server.url}/elsewhere?token=alice`)).toBe(404)
  expect(await upgradeStatus(`${server.url}/_realtime/x?token=alice`)).toBe(404)
})

test('a disallowed Origin is refused; same-origin is the default', async () => {
  server = await startServer()
  const url = `${server.url}/_realtime?token=alice`
  expect(await upgradeStatus(url, { Origin: 'http://evil.example' })).toBe(403)
  expect(await upgradeStatus(url, { Origin: `http://127.0.0.1:${server.port}` })).toBe(101)
  await server.stop()

  server = await startServer({ allowedOrigins: ['https://app.example'] })
  const allowlisted = `${server.url}/_realtime?token=alice`
  expect(await upgradeStatus(allowlisted, { Origin: 'https://app.example' })).toBe(101)
  expect(await upgradeStatus(allowlisted, { Origin: `http://127.0.0.1:${server.port}` })).toBe(403)
})

test('getAuthToken failures answer 500 and are reported', async () => {
  const reported: unknown[] = []
  server = await startServer({
    getAuthToken: () => {
      throw new Error('session store down')
    },
    onError: (error) => reported.push(error),
  })
  expect(await upgradeStatus(`${server.url}/_realtime?token=alice`)).toBe(500)
  expect(reported).toHaveLength(1)
})

test('a throwing authorize answers the request with an internal error and the connection keeps working', async () => {
  const reported: unknown[] = []
  server = await startServer({
    authorize: (_user, [name]) => {
      if (name === 'broken') throw new Error('db down')
      return { subscribe: true, publish: true }
    },
    onError: (error) => reported.push(error),
  })
  const client = makeClient(server, 'alice')
  await expect(client.publish(['broken'], 1)).rejects.toMatchObject({ code: 'internal' })
  await eventually(() => expect(reported).toHaveLength(1))
  await expect(client.publish(['fine'], 1)).resolves.toEqual({ seq: 1 })
})
