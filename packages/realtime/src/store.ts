/**
 * An observable value shaped for React's `useSyncExternalStore` and any other framework:
 * `subscribe(listener)` returns an unsubscribe function, `getSnapshot()` returns the same object
 * until the value changes.
 */
export interface Observable<T> {
  subscribe(listener: () => void): () => void
  getSnapshot(): T
}

/** A minimal observable value holder. */
export class Store<T> implements Observable<T> {
  #value: T
  readonly #listeners = new Set<() => void>()

  constructor(initial: T) {
    this.#value = initial
  }

  getSnapshot = (): T => this.#value

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** Replaces the value and notifies listeners when it changed (by identity). */
  set(value: T): void {
    if (Object.is(value, this.#value)) return
    this.#value = value
    for (const listener of [...this.#listeners]) listener()
  }
}
