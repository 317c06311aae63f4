'use client'
import {
  type ChannelKey,
  getPresence,
  type PresenceChannelDefinition,
  type PresenceSnapshot,
  type PresenceState,
  type PresenceStateOf,
  resolveChannel,
  serializeChannelKey,
} from '@tanstack/realtime'
import { useCallback, useEffect, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react'
import { useClient } from './context.js'

/** Options of {@link usePresence}. */
export interface UsePresenceOptions<P, S> {
  /** The channel's params when the first argument is a definition. */
  params?: P
  /** This client's state when it joins (later changes go through `updatePresence`). */
  initial: S
  /** Be present only while true. Default true. */
  enabled?: boolean
}

/** What {@link usePresence} returns: the presence snapshot plus `updatePresence`. */
export interface UsePresenceResult<S extends object> extends PresenceSnapshot<S> {
  /** Merges a patch into this client's state; sent throttled, visible in `self` at once. */
  updatePresence: (patch: Partial<S>) => void
}

const idle: PresenceSnapshot<any> = { status: 'idle', self: undefined, others: [], error: undefined }
const serverSnapshot = () => idle

/**
 * Joins a presence channel while mounted and returns the other members (each with `connectionId`,
 * `userId` and `state`) and `updatePresence`. Components of one client on one channel share one
 * membership; unmounting the last one leaves. React StrictMode's remount shows others nothing.
 *
 * @param channel - a definition from `presenceChannel()` (with `options.params`) or a raw key
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider;
 *   `TooLargeError` from `updatePresence` when the state passes the server's limit.
 * @example
 * ```tsx
 * const { others, updatePresence } = usePresence(editorPresence, {
 *   params: { documentId },
 *   initial: { cursor: null, name: userName },
 * })
 * ```
 */
export function usePresence<P extends object | void, S extends object>(
  channel: PresenceChannelDefinition<P, S>,
  options: UsePresenceOptions<P, S>,
): UsePresenceResult<S>
export function usePresence<K extends ChannelKey<any, any>>(
  channel: K,
  options: UsePresenceOptions<never, PresenceStateOf<K>>,
): UsePresenceResult<PresenceStateOf<K>>
export function usePresence(
  channel: PresenceChannelDefinition<any, any> | ChannelKey<any, any>,
  options: UsePresenceOptions<any, PresenceState>,
): UsePresenceResult<PresenceState> {
  const client = useClient('usePresence')
  // The key as made (a definition's key carries its schemas); a new array for the same channel changes nothing.
  const key = resolveChannel(channel, options.params)
  const ch = serializeChannelKey(key)
  // biome-ignore lint/correctness/useExhaustiveDependencies: one presence per channel
  const presence = useMemo(() => getPresence(client, key), [client, ch])
  const initial = useRef(options.initial)
  useInsertionEffect(() => {
    initial.current = options.initial
  })
  const enabled = options.enabled ?? true
  useEffect(() => (enabled ? presence.enter(initial.current) : undefined), [presence, enabled])
  const snapshot = useSyncExternalStore(presence.subscribe, presence.getSnapshot, serverSnapshot)
  const updatePresence = useCallback((patch: Partial<PresenceState>) => presence.update(patch), [presence])
  return useMemo(() => ({ ...snapshot, updatePresence }), [snapshot, updatePresence])
}
