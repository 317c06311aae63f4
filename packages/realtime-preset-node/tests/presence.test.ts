import { presenceChannel, TooLargeError } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import {
  closeClients,
  eventually,
  makeClient,
  rawClient,
  recordStatuses,
  startProxy,
  startServer,
  type TestServer,
} from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

const editor = presenceChannel<{ documentId: string }, { name: string; cursor: { x: number; y: number } | null }>(
  'editor',
)

test('join, update and leave are seen by the other client', async () => {
  server = await startServer()
  const alice = makeClient(server, 'alice')
  const bob = makeClient(server, 'bob')
  const alicePresence = alice.presence(editor({ documentId: 'd1' }))
  const bobPresence = bob.presence(editor({ documentId: 'd1' }))

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
  server = await startServer({ presenceGraceMs: 100 })
  const alice = makeClient(server, 'alice')
  const presence = alice.presence(['room'])
  await presence.enter({}).ready

  const raw = await rawClient(server.url, 'mallory')
  await raw.request({ t: 'pjoin', id: 1, ch: '["room"]', state: { name: 'M' } })
  await eventually(() => expect(presence.getSnapshot().others.map((m) => m.userId)).toEqual(['mallory']))
  raw.ws.terminate()
  await eventually(() => expect(presence.getSnapshot().others).toEqual([]))
})

test('a quick reconnect within the grace period shows others no leave and no join', async () => {
  server = await startServer({ presenceGraceMs: 5000 })
  const proxy = await startProxy(server.port)
  const alice = makeClient(proxy, 'alice')
  const bob = makeClient(server, 'bob')
  const alicePresence = alice.presence(['room'])
  await alicePresence.enter({ name: 'Alice' }).ready
  const bobPresence = bob.presence(['room'])
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
  server = await startServer()
  const tab1 = makeClient(server, 'alice')
  const tab2 = makeClient(server, 'alice')
  const observer = makeClient(server, 'bob')
  await tab1.presence(['room']).enter({ tab: 1 }).ready
  await tab2.presence(['room']).enter({ tab: 2 }).ready
  const presence = observer.presence(['room'])
  await presence.enter({ tab: 0 }).ready
  const others = presence.getSnapshot().others
  expect(others.map((m) => m.userId)).toEqual(['alice', 'alice'])
  expect(new Set(others.map((m) => m.connectionId)).size).toBe(2)
  expect(others.map((m) => m.state)).toEqual([{ tab: 1 }, { tab: 2 }])
})

test('parts of one client entering one channel share one membership', async () => {
  server = await startServer()
  const alice = makeClient(server, 'alice')
  const bob = makeClient(server, 'bob')
  const watcher = bob.presence(['room'])
  await watcher.enter({}).ready
  const first = alice.presence(['room']).enter({ name: 'Alice' })
  const second = alice.presence(['room']).enter({ name: 'ignored while shared' })
  await Promise.all([first.ready, second.ready])
  await eventually(() => expect(watcher.getSnapshot().others).toHaveLength(1))
  first()
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(watcher.getSnapshot().others).toHaveLength(1)
  second()
  await eventually(() => expect(watcher.getSnapshot().others).toHaveLength(0))
})

test('presence state over the size limit is refused', async () => {
  server = await startServer({ maxPresenceBytes: 100 })
  const alice = makeClient(server, 'alice')
  const presence = alice.presence(['room'])
  await presence.enter({ name: 'A' }).ready
  expect(() => presence.update({ name: 'x'.repeat(200) })).toThrow(TooLargeError)
  expect(presence.getSnapshot().self?.state).toEqual({ name: 'A' })

  const raw = await rawClient(server.url, 'mallory')
  const reply = await raw.request({ t: 'pjoin', id: 1, ch: '["room"]', state: { blob: 'x'.repeat(200) } })
  expect(reply).toMatchObject({ t: 'err', code: 'too_large' })
  raw.ws.close()
})
