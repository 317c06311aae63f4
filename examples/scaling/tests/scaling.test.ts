import { createRealtimeClient, getPresence } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { channelKeys } from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { eventually } from '../../../packages/realtime-preset-node/tests/helpers.js'
import { type Demo, startExample } from '../../support/start-example.js'

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

test('two users on two processes behind the balancer chat and see each other online through Redis', async () => {
  const connect = (name: string) =>
    createRealtimeClient({ transport: nodeTransport({ url: demo.origin, getAuthToken: () => name }) })
  const ada = connect('Ada')
  const bob = connect('Bob')
  try {
    const room = ['chat', { roomId: 'lobby' }] as const
    const got: unknown[] = []
    await bob.subscribe(room, (message) => got.push(message)).ready
    await ada.subscribe(room, () => {}).ready
    // Round robin: the two sockets reached two different processes, each subscribed in Redis.
    const { pubsub } = channelKeys('rt:', JSON.stringify(room))
    expect((await redis.cli(['PUBSUB', 'SHARDNUMSUB', pubsub])).split('\n')[1]).toBe('2')
    await ada.publish(room, { from: 'Ada', text: 'hello' })
    await eventually(() => expect(got).toEqual([{ from: 'Ada', text: 'hello' }]))

    await getPresence(ada, room).enter({ name: 'Ada' }).ready
    const bobPresence = getPresence(bob, room)
    await bobPresence.enter({ name: 'Bob' }).ready
    expect(bobPresence.getSnapshot().others.map((member) => member.state)).toEqual([{ name: 'Ada' }])
  } finally {
    ada.disconnect()
    bob.disconnect()
  }
})
