import { InvalidError } from '@tanstack/realtime'
import { test } from 'vitest'
import { expectFuzzHolds, fuzzFrames } from '../../realtime/tests/conformance/fuzz.js'
import { closeClients, makeClient, startServer } from './helpers.js'

// `npm run fuzz` sets FUZZ_FRAMES (100 000 or more) and prints the figures.
const frames = fuzzFrames(10_000)

test(`arbitrary frames on many sockets: every request answered once, a bystander's stream intact (${frames} frames)`, {
  timeout: Math.max(60_000, frames * 5),
}, async () => {
  let reported = 0
  const rows = new Map<string, unknown>()
  const server = await startServer({
    rateLimit: false,
    onError: () => reported++,
    collections: {
      todos: {
        load: () => [...rows.values()],
        async write(ops) {
          for (const op of ops) {
            if (op.type === 'delete') rows.delete(String(op.key))
            else if (!op.value.title) throw new InvalidError('A todo needs a title.')
            else rows.set(String(op.key), op.value)
          }
          return undefined
        },
      },
    },
  })
  try {
    await expectFuzzHolds(
      'node',
      {
        socketUrl: (_channel, query) => `${server.url}/_realtime?${query}`,
        client: (token) => makeClient(server, token),
        publish: (channel, data) => server.realtime.publish(channel, data),
        reported: () => reported,
      },
      frames,
    )
  } finally {
    closeClients()
    await server.stop()
  }
})
