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
import { untrack } from 'svelte'
import { getClient } from './context.js'
import { fromObservable, type MaybeGetter, read } from './reactive.svelte.js'

/** Options of {@link usePresence}. */
export interface UsePresenceOptions<P, S> {
  /** The channel's params when the first argument is a definition (a getter follows props). */
  params?: MaybeGetter<P>
  /** This client's state when it joins (later changes go through `updatePresence`). */
  initial: S
  /** Be present only while true (a getter works). Default true. */
  enabled?: MaybeGetter<boolean>
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
 * @param channel - a definition from `presenceChannel()` (with `options.params`), a raw key, or a
 *   getter of a key
 * @param options - the options, or a getter of them (`() => ({ params: { documentId }, initial: { name } })`)
 *   to follow props without capturing their first value
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} without a client;
 *   `TooLargeError` from `updatePresence` when the state passes the server's limit.
 * @example
 * ```svelte
 * <script>
 *   let { documentId, userName } = $props()
 *   const presence = usePresence(editorPresence, () => ({
 *     params: { documentId },
 *     initial: { cursor: null, name: userName },
 *   }))
 * </script>
 * {#each presence.others as user (user.connectionId)}<Cursor {user} />{/each}
 * ```
 */
export function usePresence<P extends object | void, S extends object>(
  channel: PresenceChannelDefinition<P, S>,
  options: MaybeGetter<UsePresenceOptions<P, S>>,
): UsePresenceResult<S>
export function usePresence<K extends ChannelKey<any, any>>(
  channel: MaybeGetter<K>,
  options: MaybeGetter<UsePresenceOptions<never, PresenceStateOf<K>>>,
): UsePresenceResult<PresenceStateOf<K>>
export function usePresence(
  channel: PresenceChannelDefinition<any, any> | MaybeGetter<ChannelKey<any, any>>,
  options: MaybeGetter<UsePresenceOptions<any, PresenceState>>,
): UsePresenceResult<PresenceState> {
  const client = getClient('usePresence')
  // The client hands out one channel object per key, so this only changes when the key does.
  const presence = $derived(
    getPresence(
      client,
      resolveChannel(isChannelDefinition(channel) ? channel : read(channel), read(read(options).params)),
    ),
  )
  const snapshot = fromObservable(() => presence)
  $effect(() => {
    if (read(read(options).enabled) ?? true) return presence.enter(untrack(() => read(options).initial))
  })
  return {
    get status() {
      return snapshot.current.status
    },
    get self() {
      return snapshot.current.self
    },
    get others() {
      return snapshot.current.others
    },
    get error() {
      return snapshot.current.error
    },
    updatePresence: (patch) => presence.update(patch),
  }
}
