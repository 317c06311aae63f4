/**
 * Behaviour across real Node server processes on one Redis that the shared suite does not reach:
 * collection writes from several processes in one order, a connection resuming on another
 * process while the first one is still alive, and a process shutting down.
 */
import { collectionWrite, getPresence } from '@tanstack/realtime'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { LEAVES } from '../../realtime/tests/conformance/schema-channels.js'
import { eventually, recordStatuses, startProxy, type Proxy as TcpProxy } from '../../realtime/tests/support/helpers.js'
import { closeClients, makeClient } from '../../realtime-preset-node/tests/helpers.js'
import { type ServerProcess, startProcesses } from './support/processes.js'

let redis: RedisServer
let processes: ServerProcess[] = []
let proxy: TcpProxy | undefined

beforeAll(async () => {
  ;[redis, processes] = await Promise.all([startRedisServer(), startProcesses(3)])
})

afterEach(async () => {
  closeClients()
  await proxy?.close()
  proxy = undefined
  await Promise.all(processes.map((process) => process.stop()))
  await redis.cli(['FLUSHALL'])
})

afterAll(async () => {
  await Promise.all(processes.map((process) => process.exit()))
  await redis?.close()
})

const first = () => processes[0] as ServerProcess
const second = () => processes[1] as ServerProcess
const third = () => processes[2] as ServerProcess

test('collection writes from clients on different processes are applied and broadcast in one order', async () => {
  await Promise.all(processes.map((process) => process.start({ url: redis.url }, { sharedTodos: true })))
  const watcher = makeClient(third(), 'watcher')
  const broadcast: unknown[] = []
  await watcher.subscribe(['todos'], (message) => {
    for (const change of (message as { changes: Array<{ value: unknown }> }).changes) broadcast.push(change.value)
  }).ready
  const writers = [first(), second()].map((process, w) => makeClient(process, `writer-${w}`))
  // Both writers update the same row at once, 20 times each, through two processes.
  await Promise.all(
    writers.map(async (client, w) => {
      for (let i = 0; i < 20; i++) {
        await collectionWrite(client, ['todos'], [{ type: 'update', key: 'x', value: { id: 'x', v: `${w}-${i}` } }])
      }
    }),
  )
  await eventually(() => expect(broadcast).toHaveLength(40))
  const applied = (await redis.cli(['LRANGE', 'test:applied', '0', '-1'])).split('\n').map((line) => JSON.parse(line))
  // The order the shared database applied them is the order every client received them.
  expect(broadcast).toEqual(applied)
})

/**
 * Alice present in `room` through a round-robin proxy (her first connection reaches the first
 * process, a reconnect the second), Bob present on the third process, every process with a 5 s
 * grace period. `bobSees(state)`: Alice updates her state; once it reached Bob, Bob never saw
 * anyone but Alice, under the same connection id (the update is the barrier).
 */
async function aliceThroughProxyAndBob() {
  await Promise.all(processes.map((process) => process.start({ url: redis.url }, { presenceGraceMs: 5000 })))
  const roundRobin = await startProxy(processes.map((process) => process.port))
  proxy = roundRobin
  const alice = makeClient({ url: roundRobin.url }, 'alice')
  const alicePresence = getPresence(alice, ['room'])
  await alicePresence.enter({ name: 'Alice' }).ready
  expect(await first().connections()).toBe(1)
  const bob = makeClient(third(), 'bob')
  const bobPresence = getPresence(bob, ['room'])
  await bobPresence.enter({ name: 'Bob' }).ready
  const aliceId = alice.connectionId
  const seenByBob: Array<Array<string | undefined>> = []
  bobPresence.subscribe(() => seenByBob.push(bobPresence.getSnapshot().others.map((m) => m.connectionId)))
  async function bobSees(state: { name: string }) {
    alicePresence.update(state)
    await eventually(() => expect(bobPresence.getSnapshot().others[0]?.state).toEqual(state))
    expect(seenByBob.every((others) => others.length === 1 && others[0] === aliceId)).toBe(true)
  }
  return { roundRobin, alice, alicePresence, aliceId, bobSees }
}

test('a client cut off from a live process resumes on another within the grace period: same id, no leave', async () => {
  const { roundRobin, alice, alicePresence, aliceId, bobSees } = await aliceThroughProxyAndBob()
  const statuses = recordStatuses(alice)
  roundRobin.cut()
  await eventually(() => expect(statuses.slice(-2)).toEqual(['reconnecting', 'connected']))
  await eventually(() => expect(alicePresence.getSnapshot().status).toBe('joined'))
  expect(alice.connectionId).toBe(aliceId)
  expect(await second().connections()).toBe(1)
  // The first process let its graced connection go without announcing a leave.
  await eventually(async () => expect(await first().connections()).toBe(0))
  await bobSees({ name: 'Alice again' })
})

test('a process shutting down: its clients move to the others and keep their presence, nobody sees a leave', async () => {
  const { alice, alicePresence, aliceId, bobSees } = await aliceThroughProxyAndBob()
  await first().stop() // realtime.close(): sockets closed with 1001, the store closed
  await eventually(async () => expect(await second().connections()).toBe(1))
  await eventually(() => expect(alicePresence.getSnapshot().status).toBe('joined'))
  expect(alice.connectionId).toBe(aliceId)
  await bobSees({ name: 'Alice moved' })
})

test("a process shutting down lets its members' leaves and onLeave hooks finish before it closes the store", async () => {
  const reported: unknown[] = []
  const onError = (error: unknown) => reported.push(error)
  await Promise.all(processes.map((process) => process.start({ url: redis.url }, { onError })))
  const leaves: unknown[] = []
  await makeClient(third(), 'watcher').subscribe(LEAVES, (event) => leaves.push(event)).ready
  // Members of the schema channels' presence (its onLeave publishes to LEAVES), all on the first process.
  const channel = ['shaped-presence', { roomId: 'r1' }] as const
  for (const name of ['alice', 'bob', 'carol']) await getPresence(makeClient(first(), name), channel).enter({}).ready

  await first().stop() // realtime.close(): sockets closed with 1001, no grace period here: the members leave
  await eventually(() => expect(leaves).toHaveLength(3))
  const left = ['alice', 'bob', 'carol'].map((userId) => ({ channel, userId, state: { name: userId } }))
  expect(leaves).toEqual(expect.arrayContaining(left))
  expect(reported).toEqual([])
})
