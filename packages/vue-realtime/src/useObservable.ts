import type { Observable } from '@tanstack/realtime'
import { type ShallowRef, shallowRef, watchEffect } from 'vue'

/**
 * @internal A ref holding `source()`'s snapshot. It follows the observable once mounted (a post-flush
 * effect, which never runs during server rendering) and moves when `source()` changes.
 */
export function useObservable<T>(source: () => Observable<T>): Readonly<ShallowRef<T>> {
  const value = shallowRef(source().getSnapshot())
  watchEffect(
    (onCleanup) => {
      const observable = source()
      const read = () => {
        value.value = observable.getSnapshot()
      }
      read()
      onCleanup(observable.subscribe(read))
    },
    { flush: 'post' },
  )
  return value
}
