import { getPresence } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import { eventually, recordStatuses, startProxy } from '../../realtime/tests/support/helpers.js'
import { channelInstance, workerdHarness } from './support/workerd.js'

let stop: (() => Promise<void>) | undefined
afterEach(async () => {
  workerdHarness.closeClients()
  await stop?.()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('an evicted channel keeps its sockets, presence and sequence, and resumes clients from storage', async () => {
  const server = await workerdHarness.start({ presenceGraceMs: 2000 })
  stop = () => server.stop()
  const proxy = await startProxy(server.port)
  // Heartbeats are answered by the runtime without waking the object, so they do not prevent eviction.
  const alice = server.client('alice', { url: proxy.url, heartbeatMs: 1000 })
  const bob = server.client('bob', { heartbeatMs: 1000 })
  const room = ['room'] as const
  const aliceGot: number[] = []
  const bobGot: number[] = []
  const aliceLives: boolean[] = []
  await alice.subscribe(room, (n) => aliceGot.push(n as number), { onLive: (info) => aliceLives.push(info.recovered) })
    .ready
  await bob.subscribe(room, (n) => bobGot.push(n as number)).ready
  await getPresence(alice, room).enter({ name: 'Alice' }).ready
  const bobPresence = getPresence(bob, room)
  await bobPresence.enter({ name: 'Bob' }).ready
  for (let n = 1; n <= 3; n++) await server.publish(room, n)
  await eventually(() => expect(bobGot).toEqual([1, 2, 3]))
  const aliceStatuses = recordStatuses(alice)
  const bobStatuses = recordStatuses(bob)
  const before = await channelInstance(server, '["room"]')

  // Nothing reaches the object for a while: workerd evicts it (~10 s idle); the sockets stay open.
  let after = before
  for (let attempt = 0; attempt < 4 && after === before; attempt++) {
    await sleep(attempt === 0 ? 11_000 : 2000)
    after = await channelInstance(server, '["room"]')
  }
  expect(after).not.toBe(before)
  expect(aliceStatuses).toEqual(['connected'])
  expect(bobStatuses).toEqual(['connected'])

  // Presence came back from the socket attachments: a newcomer sees both members.
  const carol = server.client('carol')
  const carolPresence = getPresence(carol, room)
  await carolPresence.enter({ name: 'Carol' }).ready
  expect(carolPresence.getSnapshot().others.map((m) => m.state)).toEqual([{ name: 'Alice' }, { name: 'Bob' }])
  await eventually(() => expect(bobPresence.getSnapshot().others).toHaveLength(2))

  // The sequence came back from storage: publishing continues at 4, over the same sockets.
  await expect(bob.publish(room, 4)).resolves.toEqual({ seq: 4 })
  await eventually(() => expect(aliceGot).toEqual([1, 2, 3, 4]))

  // History came back too: a dropped socket resumes with the messages it missed, exactly once.
  proxy.block()
  proxy.cut()
  await eventually(() => expect(alice.status.getSnapshot()).toBe('reconnecting'))
  for (let n = 5; n <= 6; n++) await server.publish(room, n)
  proxy.unblock()
  await eventually(() => expect(aliceGot).toEqual([1, 2, 3, 4, 5, 6]))
  await eventually(() => expect(aliceLives).toEqual([false, true]))
  // Within the grace period Alice stayed present for Bob throughout.
  expect(bobPresence.getSnapshot().others.map((m) => m.userId)).toEqual(['alice', 'carol'])
  await proxy.close()
}, 40_000)
