import { ForbiddenError, getPresence, UnauthorizedError } from '@tanstack/realtime'
import { startTestServer, type TestServer } from '@tanstack/realtime-preset-node/testing'
import { afterEach, expect, test } from 'vitest'
import { eventually, statusBecomes, upgradeStatus } from './helpers.js'

let server: TestServer<unknown> | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

test('serves a real endpoint on 127.0.0.1 and a free port, behind a plain HTTP server', async () => {
  server = await startTestServer()
  expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
  const http = await fetch(server.url.replace('ws:', 'http:'))
  expect(await http.text()).toBe('ok')
  // The default identity is the `token` query parameter; none is refused.
  expect(await upgradeStatus(`${server.url}/_realtime`)).toBe(401)
  expect(await upgradeStatus(`${server.url}/elsewhere?token=a`)).toBe(404)
})

test("clients send their token, which is the default server's user id", async () => {
  server = await startTestServer()
  const ada = server.client({ token: 'ada' })
  const anyone = server.client()
  const got: unknown[] = []
  await ada.subscribe(['chat'], (message) => got.push(message)).ready
  await anyone.publish(['chat'], 'hello')
  await server.publish(['chat'], 'from the server')
  await eventually(() => expect(got).toEqual(['hello', 'from the server']))
  expect(ada.userId).toBe('ada')
  expect(anyone.userId).toBe('test-user')
  expect(server.server.stats()).toEqual({ connections: 2, channels: 1 })
  expect(server.engine.subscriberCount(['chat'])).toBe(1)
})

test('takes any createNodeServer option: authorize, path, getAuthToken', async () => {
  server = await startTestServer<{ name: string }>({
    path: '/live',
    getAuthToken: (req) => ({ name: new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '' }),
    getUserId: (user) => `user:${user.name}`,
    authorize: (_user, [name]) => (name === 'open' ? { subscribe: true, publish: true } : null),
  })
  const client = server.client({ token: 'bo' })
  await client.publish(['open'], 1)
  expect(client.userId).toBe('user:bo')
  await expect(client.publish(['closed'], 1)).rejects.toThrow(ForbiddenError)
  expect(await upgradeStatus(`${server.url}/_realtime?token=a`)).toBe(404)
})

test('a client without a token is refused (status refused, UnauthorizedError) until closed', async () => {
  server = await startTestServer()
  const client = server.client({ token: null })
  client.connect()
  await statusBecomes(client, 'refused')
  expect(client.error).toBeInstanceOf(UnauthorizedError)
  await server.close()
  expect(client.status.getSnapshot()).toBe('disconnected')
})

test('presence leaves at once by default (presenceGraceMs 0)', async () => {
  server = await startTestServer()
  const ada = server.client({ token: 'ada' })
  const bo = server.client({ token: 'bo' })
  await getPresence(ada, ['room']).enter({}).ready
  const room = getPresence(bo, ['room'])
  await room.enter({}).ready
  expect(room.getSnapshot().others.map((member) => member.userId)).toEqual(['ada'])
  ada.disconnect()
  await eventually(() => expect(room.getSnapshot().others).toEqual([]))
})

test('close() disconnects every client, closes the HTTP server, and may be called twice', async () => {
  server = await startTestServer()
  const client = server.client()
  await client.subscribe(['chat'], () => {}).ready
  await Promise.all([server.close(), server.close()])
  expect(client.status.getSnapshot()).toBe('disconnected')
  expect(server.http.listening).toBe(false)
  expect(server.server.stats().connections).toBe(0)
})

test('serves collection channels to live collections built with a test client', async () => {
  const { createCollection } = await import('@tanstack/db')
  const { liveCollectionOptions } = await import('@tanstack/realtime')
  const rows = [{ id: '1', title: 'Write tests' }]
  server = await startTestServer({
    collections: {
      todos: {
        load: () => rows,
        write(ops) {
          for (const op of ops) if (op.type === 'insert') rows.push(op.value as (typeof rows)[number])
          return undefined
        },
      },
    },
  })
  const todos = createCollection(
    liveCollectionOptions({
      client: server.client(),
      channel: ['todos'],
      getId: (todo: { id: string; title: string }) => todo.id,
    }),
  )
  await todos.preload()
  expect([...todos.keys()]).toEqual(['1'])
  await todos.insert({ id: '2', title: 'Ship' }).isPersisted.promise
  expect(rows.map((row) => row.id)).toEqual(['1', '2'])
})
