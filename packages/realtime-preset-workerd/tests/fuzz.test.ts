import { test } from 'vitest'
import { expectFuzzHolds, fuzzFrames } from '../../realtime/tests/conformance/fuzz.js'
import { workerdHarness } from './support/workerd.js'

// The same fuzz as the Node server's, against RealtimeChannel Durable Objects in real workerd.
// `npm run fuzz` sets FUZZ_FRAMES and prints the figures.
const frames = fuzzFrames(5000)

test(`arbitrary frames on many sockets: every request answered once, a bystander's stream intact (${frames} frames)`, {
  timeout: Math.max(60_000, frames * 5),
}, async () => {
  let reported = 0
  const server = await workerdHarness.start({ rateLimit: false, onError: () => reported++ })
  try {
    await expectFuzzHolds('workerd', { ...server, reported: () => reported }, frames)
  } finally {
    workerdHarness.closeClients()
    await server.stop()
  }
})
