/**
 * The channel core's port contracts (a channel's log, its member store), run against the Redis store
 * on a real redis-server: the same tests the memory store and Durable Object storage pass.
 */
import { createRedisStore, type RedisChannelStore } from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll } from 'vitest'
import { channelLogContract } from '../../realtime/tests/server/contracts/channel-log.contract.js'
import { driveMembers, memberStoreContract } from '../../realtime/tests/server/contracts/member-store.contract.js'

let redis: RedisServer
/** Each store under test gets its own key prefix: tests do not see each other's channels. */
let stores = 0

beforeAll(async () => {
  redis = await startRedisServer()
})

afterAll(async () => {
  await redis?.close()
})

const create = (keyPrefix: string, historySize?: number): RedisChannelStore =>
  createRedisStore({ url: redis.url, keyPrefix, ...(historySize !== undefined && { historySize }) })

channelLogContract(
  'redis',
  async ({ ch, historySize }) => {
    const prefix = `log${++stores}:`
    let store = create(prefix, historySize)
    const log = () => store.open(ch).log
    return {
      position: () => log().position(),
      async append(dataJson, idem) {
        const { seq, epoch, frame } = await log().append(dataJson, idem)
        return { seq, epoch, frame: frame?.text }
      },
      async read(after, limit) {
        const { position, messages } = await log().read(after, limit)
        return { position, messages: messages.map(({ seq, frame }) => ({ seq, frame: frame.text })) }
      },
      find: (idem) => log().find(idem),
      // Another process (a new store) sees the same log.
      async reopen() {
        await store.close()
        store = create(prefix, historySize)
      },
      dispose: () => store.close(),
    }
  },
  { persistent: true },
)

memberStoreContract(
  'redis',
  async () => {
    const store = create(`members${++stores}:`)
    return driveMembers(store.open('["room"]').members, {
      reopen: () => Promise.reject(new Error('Which process holds a member is kept in that process.')),
      dispose: () => store.close(),
    })
  },
  { persistent: false },
)
