import type { Observable } from '@tanstack/realtime'
import { type Accessor, createEffect, createSignal, onCleanup, untrack } from 'solid-js'

/** A value, or an accessor of it (to follow props and signals). */
export type MaybeAccessor<T> = T | Accessor<T>

/** @internal Reads a {@link MaybeAccessor}. */
export const read = <T>(value: MaybeAccessor<T>): T => (typeof value === 'function' ? (value as Accessor<T>)() : value)

/**
 * @internal A signal holding `source()`'s snapshot. It follows the observable once mounted (an
 * effect, which never runs during server rendering) and moves when `source()` changes.
 */
export function fromObservable<T>(source: Accessor<Observable<T>>): Accessor<T> {
  const [value, setValue] = createSignal(untrack(source).getSnapshot())
  createEffect(() => {
    const observable = source()
    const update = () => setValue(() => observable.getSnapshot())
    update()
    onCleanup(observable.subscribe(update))
  })
  return value
}
