import { type RedisCluster, startRedisCluster } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll } from 'vitest'
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
