import type { Observable } from '@tanstack/realtime'
import { untrack } from 'svelte'

/** A value, or a getter of it (to follow props and state). */
export type MaybeGetter<T> = T | (() => T)

/** @internal Reads a {@link MaybeGetter}. */
export const read = <T>(value: MaybeGetter<T>): T => (typeof value === 'function' ? (value as () => T)() : value)

/**
 * @internal A reactive `current` holding `source()`'s snapshot. It follows the observable once
 * mounted (an effect, which never runs during server rendering) and moves when `source()` changes.
 */
export function fromObservable<T>(source: () => Observable<T>): { readonly current: T } {
  let value = $state.raw(untrack(source).getSnapshot())
  $effect(() => {
    const observable = source()
    const update = () => {
      value = observable.getSnapshot()
    }
    update()
    return observable.subscribe(update)
  })
  return {
    get current() {
      return value
    },
  }
}
