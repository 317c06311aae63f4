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
import { createEffect, createMemo, onCleanup, untrack } from 'solid-js'
import { useClient } from './context.js'
import { fromObservable, type MaybeAccessor, read } from './reactive.js'

/** Options of {@link usePresence}. */
export interface UsePresenceOptions<P, S> {
  /** The channel's params when the first argument is a definition (an accessor follows props). */
  params?: MaybeAccessor<P>
  /** This client's state when it joins (later changes go through `updatePresence`). */
  initial: S
  /** Be present only while true (an accessor works). Default true. */
  enabled?: MaybeAccessor<boolean>
}

/**
 * What {@link usePresence} returns: the presence snapshot's fields (reactive: read them as
 * `presence.others`, don't destructure) plus `updatePresence`.
 */
export interface UsePresenceResult<S extends object> extends Readonly<PresenceSnapshot<S>> {
  /** Merges a patch into this client's state; sent throttled, visible in `self` at once. */
  updatePresence: (patch: Partial<S>) => void
}

/**
 * Joins a presence channel while the component is mounted and returns the other members (each with
 * `connectionId`, `userId` and `state`) and `updatePresence`. Components of one client on one channel
 * share one membership; unmounting the last one leaves. A change of params leaves the old channel and
 * enters the new one.
 *
 * @param channel - a definition from `presenceChannel()` (with `options.params`), a raw key, or an
 *   accessor of a key
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider;
 *   `TooLargeError` from `updatePresence` when the state passes the server's limit.
 * @example
 * ```tsx
 * const presence = usePresence(editorPresence, {
 *   params: () => ({ documentId: props.documentId }),
 *   initial: { cursor: null, name: props.userName },
 * })
 * return <For each={presence.others}>{(user) => <Cursor user={user} />}</For>
 * ```
 */
export function usePresence<P extends object | void, S extends object>(
  channel: PresenceChannelDefinition<P, S>,
  options: UsePresenceOptions<P, S>,
): UsePresenceResult<S>
export function usePresence<K extends ChannelKey<any, any>>(
  channel: MaybeAccessor<K>,
  options: UsePresenceOptions<never, PresenceStateOf<K>>,
): UsePresenceResult<PresenceStateOf<K>>
export function usePresence(
  channel: PresenceChannelDefinition<any, any> | MaybeAccessor<ChannelKey<any, any>>,
  options: UsePresenceOptions<any, PresenceState>,
): UsePresenceResult<PresenceState> {
  const client = useClient('usePresence')
  // The client hands out one channel object per key, so this only changes when the key does.
  const presence = createMemo(() =>
    getPresence(client, resolveChannel(isChannelDefinition(channel) ? channel : read(channel), read(options.params))),
  )
  const snapshot = fromObservable(presence)
  createEffect(() => {
    if (read(options.enabled) ?? true) onCleanup(presence().enter(untrack(() => options.initial)))
  })
  return {
    get status() {
      return snapshot().status
    },
    get self() {
      return snapshot().self
    },
    get others() {
      return snapshot().others
    },
    get error() {
      return snapshot().error
    },
    updatePresence: (patch) => presence().update(patch),
  }
}
