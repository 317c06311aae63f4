import {
  type ChannelKey,
  getPresence,
  isChannelDefinition,
  type PresenceChannelDefinition,
  type PresenceSnapshot,
  type PresenceState,
  type PresenceStateOf,
  resolveChannel,
} from '@tanstack/realtime'
import { type ComputedRef, computed, type MaybeRefOrGetter, toRaw, toValue, watchEffect } from 'vue'
import { useClient } from './context.js'
import { useObservable } from './useObservable.js'

/** Options of {@link usePresence}. */
export interface UsePresenceOptions<P, S> {
  /** The channel's params when the first argument is a definition (a ref or getter follows props). */
  params?: MaybeRefOrGetter<P>
  /** This client's state when it joins (later changes go through `updatePresence`). */
  initial: S
  /** Be present only while true (a ref or getter works). Default true. */
  enabled?: MaybeRefOrGetter<boolean>
}

/** What {@link usePresence} returns: each field of the presence snapshot as a ref, plus `updatePresence`. */
export type UsePresenceResult<S extends object> = {
  readonly [F in keyof PresenceSnapshot<S>]: ComputedRef<PresenceSnapshot<S>[F]>
} & {
  /** Merges a patch into this client's state; sent throttled, visible in `self` at once. */
  updatePresence: (patch: Partial<S>) => void
}

/**
 * Joins a presence channel while the component is mounted and returns the other members (each with
 * `connectionId`, `userId` and `state`) and `updatePresence`. Components of one client on one channel
 * share one membership; unmounting the last one leaves. A change of params leaves the old channel and
 * enters the new one.
 *
 * @param channel - a definition from `presenceChannel()` (with `options.params`), a raw key, or a ref or
 *   getter of a key
 * @throws {MissingProviderError} where no client was provided; `InvalidChannelKeyError` for an invalid
 *   key; `TooLargeError` from `updatePresence` when the state passes the server's limit.
 * @example
 * ```ts
 * const { others, updatePresence } = usePresence(editorPresence, {
 *   params: () => ({ documentId: props.documentId }),
 *   initial: { cursor: null, name: props.userName },
 * })
 * ```
 */
export function usePresence<P extends object | void, S extends object>(
  channel: PresenceChannelDefinition<P, S>,
  options: UsePresenceOptions<P, S>,
): UsePresenceResult<S>
export function usePresence<K extends ChannelKey<any, any>>(
  channel: MaybeRefOrGetter<K>,
  options: UsePresenceOptions<never, PresenceStateOf<K>>,
): UsePresenceResult<PresenceStateOf<K>>
export function usePresence(
  channel: PresenceChannelDefinition<any, any> | MaybeRefOrGetter<ChannelKey<any, any>>,
  options: UsePresenceOptions<any, PresenceState>,
): UsePresenceResult<PresenceState> {
  const client = useClient('usePresence')
  // The client hands out one channel object per key, so this only changes when the key does.
  const presence = computed(() =>
    getPresence(
      client,
      resolveChannel(isChannelDefinition(channel) ? channel : toValue(channel), toValue(options.params)),
    ),
  )
  const snapshot = useObservable(() => presence.value)
  watchEffect(
    (onCleanup) => {
      if (toValue(options.enabled) ?? true) onCleanup(presence.value.enter(toRaw(options.initial)))
    },
    { flush: 'post' },
  )
  const field = <F extends keyof PresenceSnapshot>(name: F) => computed(() => snapshot.value[name])
  return {
    status: field('status'),
    self: field('self'),
    others: field('others'),
    error: field('error'),
    updatePresence: (patch) => presence.value.update(patch),
  }
}
