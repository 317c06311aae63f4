import { expect, test } from 'vitest'
import { fuzzFrames, fuzzServer } from '../../realtime/tests/conformance/fuzz.js'
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
    const figures = await fuzzServer(
      { ...server, reported: () => reported },
      { frames, ...(process.env.FUZZ_SEED && { seed: Number(process.env.FUZZ_SEED) }) },
    )
    if (process.env.FUZZ_FRAMES) console.log(`fuzz workerd: ${JSON.stringify(figures, null, 2)}`)
    expect(figures).toMatchObject({ missing: 0, extra: 0, internalErrors: 0, reportedErrors: 0, bystanderGaps: 0 })
    expect(figures.framesSent).toBeGreaterThanOrEqual(frames)
    expect(figures.bystanderMessages).toBeGreaterThan(figures.batches)
  } finally {
    workerdHarness.closeClients()
    await server.stop()
  }
})
