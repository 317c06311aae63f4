import type { RealtimeError } from './errors.js'

/** @internal A promise with its settle functions. */
export interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: RealtimeError): void
}

/**
 * @internal Creates a {@link Deferred} whose rejection is never reported as unhandled: nobody has
 * to await it, because failures are also reported through callbacks or snapshots.
 */
export function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: RealtimeError) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
