import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll } from 'vitest'
import { conformanceSuite } from '../../realtime/tests/conformance/suite.js'
import { processesHarness, type ServerProcess, startProcesses } from './support/processes.js'

/** The shared suite against three Node server processes on one Redis, clients spread across them. */
let redis: RedisServer
let processes: ServerProcess[] = []

beforeAll(async () => {
  ;[redis, processes] = await Promise.all([startRedisServer(), startProcesses(3)])
})

afterAll(async () => {
  await Promise.all(processes.map((process) => process.exit()))
  await redis?.close()
})

conformanceSuite(
  processesHarness(
    'redis (3 processes)',
    () => processes,
    () => ({
      target: { url: redis.url },
      flush: async () => {
        await redis.cli(['FLUSHALL'])
      },
      restart: () => redis.restart(),
    }),
  ),
)
