// @ts-check
/**
 * The child side of the orchestrator's IPC, for load-generating client processes: wait for
 * `start`, run, send the result, exit. `mark(name)` asks the orchestrator to sample the server
 * (CPU, event-loop use, memory) right now and resolves when that sample was taken.
 */
import { performance } from 'node:perf_hooks'

/** @type {Map<string, () => void>} */
const waiting = new Map()

/**
 * @param {(params: any) => Promise<unknown>} main
 */
export function runClient(main) {
  // The orchestrator is gone (crashed, killed): never outlive it.
  process.on('disconnect', () => process.exit(1))
  process.on('message', (/** @type {any} */ message) => {
    if (message?.type === 'marked') {
      waiting.get(message.name)?.()
      waiting.delete(message.name)
    } else if (message?.cmd === 'start') {
      main(message.params).then(
        (result) => process.send?.({ type: 'result', result }, () => process.exit(0)),
        (error) => process.send?.({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1)),
      )
    }
  })
  process.send?.({ type: 'booted' })
}

/**
 * Asks the orchestrator to sample the server; `mem:*` names also run a full GC there first.
 * @param {string} name
 * @returns {Promise<void>}
 */
export function mark(name) {
  return new Promise((resolve) => {
    waiting.set(name, resolve)
    process.send?.({ type: 'mark', name })
  })
}

/** Client-side CPU and event-loop utilisation over a window (is the client saturated?). */
export function clientMeter() {
  const cpu = process.cpuUsage()
  const elu = performance.eventLoopUtilization()
  const start = performance.now()
  return () => {
    const used = process.cpuUsage(cpu)
    const wallMs = performance.now() - start
    return {
      cpuPct: ((used.user + used.system) / 1000 / wallMs) * 100,
      elu: performance.eventLoopUtilization(elu).utilization,
    }
  }
}
