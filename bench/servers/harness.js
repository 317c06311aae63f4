// @ts-check
/**
 * Shared by every bench server: listens on 127.0.0.1 (random port), tells the orchestrator the
 * port, and answers its samples: CPU time (`process.cpuUsage()`), event-loop utilisation and,
 * after two full GCs (servers run with `--expose-gc`), RSS and heap.
 *
 * With BENCH_PROFILE (a file path), the V8 CPU profiler runs exactly over the measured window
 * (from the `start` sample to the `end` sample) and the profile is written there: the same data
 * as `node --cpu-prof`, without the start-up, connection set-up and shutdown around the window.
 */

import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { performance } from 'node:perf_hooks'
import { writeHeapSnapshot } from 'node:v8'

const profileFile = process.env.BENCH_PROFILE
const heapSnapshotFile = process.env.BENCH_HEAP_SNAPSHOT
/** @type {Session | undefined} */
let session
let snapshotTaken = false

/**
 * @param {string} method
 * @param {object} [params]
 * @returns {Promise<any>}
 */
function post(method, params) {
  return new Promise((resolve, reject) =>
    session?.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  )
}

async function startProfile() {
  session = new Session()
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 100 })
  await post('Profiler.start')
}

/** @param {string} file */
async function stopProfile(file) {
  const { profile } = await post('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  session?.disconnect()
  session = undefined
}

/**
 * @param {import('node:http').Server} httpServer
 * @param {() => void} [beforeExit]
 */
export function serve(httpServer, beforeExit) {
  httpServer.listen(0, '127.0.0.1', () => {
    const address = /** @type {import('node:net').AddressInfo} */ (httpServer.address())
    process.send?.({ type: 'ready', port: address.port })
  })
  process.on('message', async (/** @type {any} */ message) => {
    if (message?.cmd === 'sample') {
      if (profileFile && message.name === 'start') await startProfile()
      if (message.gc && typeof globalThis.gc === 'function') {
        globalThis.gc()
        globalThis.gc()
      }
      const cpu = process.cpuUsage()
      const elu = performance.eventLoopUtilization()
      const memory = process.memoryUsage()
      process.send?.({
        type: 'sample',
        id: message.id,
        sample: {
          t: performance.now(),
          cpuUs: cpu.user + cpu.system,
          eluActive: elu.active,
          eluIdle: elu.idle,
          rss: memory.rss,
          heapUsed: memory.heapUsed,
          external: memory.external,
        },
      })
      if (profileFile && message.name === 'end' && session) await stopProfile(profileFile)
      // With BENCH_HEAP_SNAPSHOT, the heap at the first memory sample after the base one.
      if (heapSnapshotFile && message.gc && message.name !== 'mem:base' && !snapshotTaken) {
        snapshotTaken = true
        writeHeapSnapshot(heapSnapshotFile)
      }
    } else if (message?.cmd === 'exit') {
      beforeExit?.()
      // process.exit (not a signal) so that --cpu-prof writes its profile.
      process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
}
