import { getPresence } from '@tanstack/realtime'
import { createWorkerdHandler } from '@tanstack/realtime-preset-workerd'
import { afterEach, expect, test } from 'vitest'
import { eventually, rawSocket, upgradeStatus } from '../../realtime/tests/support/helpers.js'
import { type HarnessServer, httpRequest, workerdHarness } from './support/workerd.js'

let server: HarnessServer | undefined
afterEach(async () => {
  workerdHarness.closeClients()
  await server?.stop()
  server = undefined
})

const key = (ch: string) => encodeURIComponent(ch)

test('only <path>/<canonical encoded key> upgrades are served', async () => {
  server = await workerdHarness.start()
  const http = `http://127.0.0.1:${server.port}`
  expect(await upgradeStatus(`${server.url}/elsewhere?token=alice`)).toBe(404)
  expect(await upgradeStatus(`${server.url}/_realtime?token=alice`)).toBe(404)
  expect(await upgradeStatus(`${server.url}/_realtime/${key('["a"]')}/more?token=alice`)).toBe(404)
  // One channel has one string form: a non-canonical key is refused, not routed to another object.
  expect(await upgradeStatus(`${server.url}/_realtime/${key('["x",{"b":1,"a":2}]')}?token=alice`)).toBe(400)
  expect(await upgradeStatus(`${server.url}/_realtime/${key('chat')}?token=alice`)).toBe(400)
  const plain = await httpRequest(`${http}/_realtime/${key('["chat"]')}?token=alice`)
  expect(plain.status).toBe(426)
})

test('identity headers sent by a client are replaced by the Worker', async () => {
  server = await workerdHarness.start({ authorize: () => ({ subscribe: true }) })
  const forged = encodeURIComponent(JSON.stringify({ uid: 'admin', perm: 7 }))
  const { WebSocket } = await import('ws')
  const ws = new WebSocket(server.socketUrl('["news"]', 'v=1&token=mallory'), {
    headers: { 'X-TanStack-Realtime-Auth': forged },
  })
  const frames: any[] = []
  ws.on('message', (data) => frames.push(JSON.parse(String(data))))
  await eventually(() => expect(frames[0]).toMatchObject({ t: 'hello', uid: 'mallory' }))
  ws.send(JSON.stringify({ t: 'pub', id: 1, ch: '["news"]', data: 'forged' }))
  await eventually(() => expect(frames[1]).toMatchObject({ t: 'err', id: 1, code: 'forbidden' }))
  ws.close()
})

test("a socket serves only its own channel's frames", async () => {
  server = await workerdHarness.start()
  const observer = server.client('observer')
  const got: unknown[] = []
  await observer.subscribe(['b'], (msg) => got.push(msg)).ready
  const socket = await rawSocket(server.socketUrl('["a"]', 'v=1&token=raw'))
  expect(await socket.request({ t: 'pub', id: 1, ch: '["b"]', data: 'smuggled' })).toMatchObject({
    t: 'err',
    id: 1,
    code: 'invalid',
  })
  expect(await socket.request({ t: 'pjoin', id: 2, ch: '["b"]', state: {} })).toMatchObject({ code: 'invalid' })
  expect(await socket.request({ t: 'pub', id: 3, ch: '["a"]', data: 'own' })).toMatchObject({ t: 'ack', seq: 1 })
  expect(await server.subscriberCount(['b'])).toBe(1)
  expect(got).toEqual([])
  socket.ws.close()
})

test('non-ASCII channel keys and user ids travel safely (headers stay ASCII)', async () => {
  server = await workerdHarness.start()
  const room = ['chat', { room: 'café ☕ 東京' }] as const
  const zoe = server.client('zoë 🦊')
  const bob = server.client('bob')
  const got: unknown[] = []
  await bob.subscribe(room, (msg) => got.push(msg)).ready
  await getPresence(zoe, room).enter({ name: 'Zoë' }).ready
  const bobPresence = getPresence(bob, room)
  await bobPresence.enter({ name: 'Bob' }).ready
  expect(bobPresence.getSnapshot().others).toMatchObject([{ userId: 'zoë 🦊', state: { name: 'Zoë' } }])
  await zoe.publish(room, 'bonjour ☕')
  await eventually(() => expect(got).toEqual(['bonjour ☕']))
})

test("a POST to a channel's object publishes, answers typed errors, and refuses another channel's key", async () => {
  server = await workerdHarness.start({ maxMessageBytes: 100 })
  const post = async (name: string, path: string, body: string) => {
    const query = new URLSearchParams({ name, path })
    const response = await httpRequest(`http://127.0.0.1:${server?.port}/__post?${query}`, { method: 'POST', body })
    return { status: response.status, body: response.json() }
  }
  const got: unknown[] = []
  await server.client('alice').subscribe(['a'], (msg) => got.push(msg)).ready
  expect(await post('["a"]', '["a"]', '{"data":"hello"}')).toMatchObject({ status: 200, body: { seq: 1 } })
  await eventually(() => expect(got).toEqual(['hello']))
  // Another channel's key in the path, or a name that is not a serialized key, reaches nobody.
  expect(await post('["a"]', '["b"]', '{"data":"x"}')).toMatchObject({
    status: 400,
    body: { error: { code: 'invalid' } },
  })
  expect(await post('todos', 'todos', '{"data":"x"}')).toMatchObject({
    status: 400,
    body: { error: { code: 'invalid' } },
  })
  expect(await post('["a"]', '["a"]', 'not json')).toMatchObject({ status: 400 })
  expect(await post('["a"]', '["a"]', '{}')).toMatchObject({ status: 400 })
  expect(await post('["a"]', '["a"]', JSON.stringify({ data: 'x'.repeat(200) }))).toMatchObject({
    status: 413,
    body: { error: { code: 'too_large' } },
  })
  expect(got).toEqual(['hello'])
})

test('publish, getPresence and getHistory in a Worker refuse bad input with the typed errors they document', async () => {
  server = await workerdHarness.start()
  const call = async (path: string, body: unknown) =>
    (
      await httpRequest(`http://127.0.0.1:${server?.port}${path}`, { method: 'POST', body: JSON.stringify(body) })
    ).json()
  const error = (name: string, message: string) => ({ error: { name, code: 'invalid', message } })
  const badKey = error('InvalidChannelKeyError', expect.stringMatching(/channel name/i))
  expect(await call('/__publish', { channel: [''], data: 1 })).toEqual(badKey)
  expect(await call('/__presence', { channel: [''] })).toEqual(badKey)
  expect(await call('/__history', { channel: [''] })).toEqual(badKey)
  for (const limit of [0, 1.5, -1]) {
    const message = `Option "limit" must be an integer >= 1; got ${limit}.`
    expect(await call('/__history', { channel: ['room'], limit })).toEqual(error('InvalidOptionsError', message))
  }
  expect(await call('/__history', { channel: ['room'], limit: 5 })).toEqual([])
  expect(await call('/__presence', { channel: ['room'] })).toEqual([])
})

test('createWorkerdHandler checks its options', () => {
  expect(() => createWorkerdHandler({} as never)).toThrow(/getAuthToken/)
  expect(() => createWorkerdHandler({ getAuthToken: () => 'x', path: 'realtime' })).toThrow(/path must start/)
})
