import { type Session, Subscription } from '@tanstack/realtime/server'
import { channelKeys, createRedisStore } from '@tanstack/realtime-redis'
import { type RedisCluster, startRedisCluster, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { conformanceSuite } from '../../realtime/tests/conformance/suite.js'
import { processesHarness, type ServerProcess, startProcesses } from './support/processes.js'

/**
 * The shared suite against three Node server processes on a local Redis Cluster of three masters:
 * each channel's keys share a slot (hash tags) and fan-out uses sharded pub/sub.
 */
let cluster: RedisCluster
let processes: ServerProcess[] = []

beforeAll(async () => {
  ;[cluster, processes] = await Promise.all([startRedisCluster(), startProcesses(3)])
}, 60_000)

afterAll(async () => {
  await Promise.all(processes.map((process) => process.exit()))
  await cluster?.close()
})

conformanceSuite(
  processesHarness(
    'redis cluster (3 masters, 3 processes)',
    () => processes,
    () => ({
      target: { cluster: cluster.urls },
      flush: async () => {
        await Promise.all(cluster.nodes.map((node) => node.cli(['FLUSHALL'])))
      },
      // Every master loses its data, as a cluster restarted without persistence.
      restart: async () => {
        await Promise.all(cluster.nodes.map((node) => node.cli(['FLUSHALL'])))
      },
    }),
  ),
)

test("a channel's keys share one slot; channels spread over the masters; fan-out is sharded pub/sub", async () => {
  const first = cluster.nodes[0] as (typeof cluster.nodes)[number]
  const slotOf = async (key: string) => Number(await first.cli(['CLUSTER', 'KEYSLOT', key]))
  const channels = Array.from({ length: 30 }, (_, i) => JSON.stringify(['room', { id: i }]))
  for (const ch of channels.slice(0, 5)) {
    const { meta, stream, idem, members, deadlines, lock, pubsub } = channelKeys('rt:', ch)
    const slot = await slotOf(meta)
    for (const key of [stream, idem, members, deadlines, lock, pubsub]) expect(await slotOf(key)).toBe(slot)
  }
  await Promise.all(cluster.nodes.map((node) => node.cli(['FLUSHALL'])))
  const store = createRedisStore({ cluster: { rootNodes: cluster.urls.map((url) => ({ url })) } })
  const session = { id: 'c1', send: () => {} } as unknown as Session
  try {
    for (const ch of channels) {
      const ports = store.open(ch)
      ports.subscribers.add(new Subscription(session, ch))
      await ports.log.position()
      await ports.log.append('1')
    }
    for (const node of cluster.nodes) {
      expect(Number(await node.cli(['DBSIZE']))).toBeGreaterThan(0)
      expect(await node.cli(['PUBSUB', 'SHARDCHANNELS'])).not.toBe('')
      expect(await node.cli(['PUBSUB', 'CHANNELS'])).toBe('')
    }
  } finally {
    await store.close()
  }
})

test('docs/scaling.md: a store on your own client, and one on a Redis Cluster', async () => {
  const redis = await startRedisServer()
  process.env.REDIS_URL = redis.url
  process.env.REDIS_CLUSTER_NODES = cluster.urls.join(',')
  const { store, client, clustered } = await import('./docs/scaling-clients.js')
  try {
    expect((await store.open('["doc"]').log.append('1')).seq).toBe(1)
    expect((await clustered.open('["doc"]').log.append('1')).seq).toBe(1)
    expect(clustered.cluster).toBe(true)
    await store.close()
    expect(client.isOpen).toBe(true) // yours: left open
  } finally {
    await clustered.close()
    await client.close()
    delete process.env.REDIS_URL
    delete process.env.REDIS_CLUSTER_NODES
    await redis.close()
  }
})
