import { channelKeys } from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Demo, startExample } from '../../support/start-example.js'
import { lobby, twoUsersChat } from '../../support/two-users.js'

let redis: RedisServer
let demo: Demo

beforeAll(async () => {
  redis = await startRedisServer()
  demo = await startExample('scaling', 0, { REDIS_URL: redis.url })
}, 30_000)

afterAll(async () => {
  await demo?.stop()
  await redis?.close()
})

test('two users on two processes behind the balancer chat and see each other online through Redis', () =>
  twoUsersChat(demo.origin, {
    async subscribed() {
      // Round robin: the two sockets reached two different processes, each subscribed in Redis.
      const { pubsub } = channelKeys('rt:', JSON.stringify(lobby))
      expect((await redis.cli(['PUBSUB', 'SHARDNUMSUB', pubsub])).split('\n')[1]).toBe('2')
    },
  }))
