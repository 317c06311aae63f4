// @ts-check
/**
 * The one clock every bench process uses: `performance.timeOrigin + performance.now()`, in integer
 * microseconds. `performance.now()` is CLOCK_MONOTONIC in Node; `timeOrigin` only shifts it to the
 * epoch, so values from different processes are comparable. (Publisher and subscribers of one
 * workload also live in the same client process, so latencies never mix clocks anyway.)
 */
const origin = performance.timeOrigin

/** Now, in microseconds (fits a double exactly: ~1.7e15 < 2^53). */
export function nowUs() {
  return Math.round((origin + performance.now()) * 1000)
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight. Bounded by `items.length`.
 * @template T
 * @param {T[]} items
 * @param {number} concurrency
 * @param {(item: T, index: number) => Promise<void>} fn
 */
export async function pool(items, concurrency, fn) {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      await fn(/** @type {T} */ (items[index]), index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}
