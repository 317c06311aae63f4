/**
 * The channel core's port contracts (a channel's log, its member store), run against the Redis store
 * on a real redis-server: the same tests the memory store and Durable Object storage pass.
 */
import { Frame, type Session } from '@tanstack/realtime/server'
import { createRedisStore, type RedisChannelStore } from '@tanstack/realtime-redis'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll } from 'vitest'
import { channelLogContract } from '../../realtime/tests/server/contracts/channel-log.contract.js'
import { memberStoreContract } from '../../realtime/tests/server/contracts/member-store.contract.js'

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
    const { members } = store.open('["room"]')
    const sessions = new Map<string, Session>()
    const names = new Map<Session, string>()
    const sent: Record<string, string[]> = {}
    const session = (conn: string) => sessions.get(conn) as Session
    return {
      async connect(conn, cid, uid) {
        sent[conn] = []
        const made = {
          id: cid,
          userId: uid,
          resumeToken: `token-${conn}`,
          open: true,
          send: (frame: Frame) => sent[conn]?.push(frame.text),
        }
        sessions.set(conn, made as unknown as Session)
        names.set(made as unknown as Session, conn)
      },
      list: async () => members.list(),
      state: async (conn) => members.state(session(conn)),
      join: async (conn, state) => members.join(session(conn), state),
      update: async (conn, state) => members.update(session(conn), state),
      leave: async (conn) => members.leave(session(conn)),
      release: async (conn, until) => members.release(session(conn), until),
      async claim(cid, conn, until) {
        // As a takeover does: the claiming session takes the connection id first.
        session(conn).id = cid
        return members.claim(cid, session(conn), until)
      },
      async expire(now) {
        const { expired, next } = await members.expire(now)
        return {
          expired: expired.map(({ cid, owner }) => ({ cid, owner: owner ? (names.get(owner) ?? '?') : null })),
          next,
        }
      },
      announce: async (text, except) =>
        members.announce(new Frame(text), except === null ? undefined : session(except)),
      sent: async () => sent,
      reopen: () => Promise.reject(new Error('Which process holds a member is kept in that process.')),
      dispose: () => store.close(),
    }
  },
  { persistent: false },
)
