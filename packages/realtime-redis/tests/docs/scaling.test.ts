import { createRealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { eventually } from '../../../realtime/tests/support/helpers.js'

type Process = typeof import('./scaling-server.js')

let redis: RedisServer
let processes: Process[] = []

beforeAll(async () => {
  redis = await startRedisServer()
  process.env.REDIS_URL = redis.url
  process.env.PORT = '0'
  // The guide's server, twice: two "processes" sharing one Redis.
  // A query string makes a second instance of the module (the specifier is a variable for the type checker).
  const second = './scaling-server.js?second'
  processes = [await import('./scaling-server.js'), (await import(/* @vite-ignore */ second)) as Process]
})

afterAll(async () => {
  for (const { realtime, httpServer } of processes) {
    await realtime.close()
    httpServer.close()
  }
  delete process.env.REDIS_URL
  delete process.env.PORT
  await redis?.close()
})

test("docs/scaling.md: two processes running the guide's server share a channel through Redis", async () => {
  const url = ({ httpServer }: Process) => {
    const address = httpServer.address()
    return `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  }
  const [first, second] = processes as [Process, Process]
  expect(first.httpServer).not.toBe(second.httpServer)
  const clients = [first, second].map((server, i) =>
    createRealtimeClient({ transport: nodeTransport({ url: url(server), getAuthToken: () => `user-${i}` }) }),
  )
  const [alice, bob] = clients as [ReturnType<typeof createRealtimeClient>, ReturnType<typeof createRealtimeClient>]
  try {
    const got: unknown[] = []
    await bob.subscribe(['chat'], (message) => got.push(message)).ready
    await alice.publish(['chat'], 'across processes')
    await first.realtime.publish(['chat'], 'from the server')
    await eventually(() => expect(got).toEqual(['across processes', 'from the server']))
  } finally {
    for (const client of clients) client.disconnect()
  }
})
