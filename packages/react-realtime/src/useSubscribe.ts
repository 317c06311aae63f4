'use client'
import {
  type ChannelKey,
  type MessageMeta,
  type MessageOf,
  type Observable,
  parseChannelKey,
  type SubscribeOptions,
  type SubscriptionState,
  serializeChannelKey,
} from '@tanstack/realtime'
import { useEffect, useInsertionEffect, useRef, useState, useSyncExternalStore } from 'react'
import { useClient } from './context.js'

/** Options of {@link useSubscribe}: `rewind`, `onLive`, `onReset`, `onError`, and `enabled`. */
export interface UseSubscribeOptions extends SubscribeOptions {
  /** Subscribe only while true. Default true. */
  enabled?: boolean
}

const idle: SubscriptionState = { status: 'idle', error: undefined }
const idleState: Observable<SubscriptionState> = { subscribe: () => () => {}, getSnapshot: () => idle }

/**
 * Subscribes to a channel while the component is mounted and returns the subscription's
 * `{ status, error }`: `subscribing`, `live`, `resubscribing`, `failed` (with the error), or `idle`
 * while disabled. The latest `onMessage` is always called (no resubscribe when it changes); a change
 * of channel params moves the subscription, and no message of the old channel is delivered after the
 * change. Components of one client share one server subscription per channel.
 *
 * @param channel - a key such as `['chat', { roomId }]`, or a typed key from a `defineChannel` definition
 * @param options - `rewind: 20` first delivers up to the 20 most recent messages (read when subscribing)
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider.
 * @example
 * ```tsx
 * const { status, error } = useSubscribe(['chat', { roomId }], (msg) => setMessages((prev) => [...prev, String(msg)]), {
 *   rewind: 20,
 * })
 * ```
 */
export function useSubscribe<K extends ChannelKey<any, any>>(
  channel: K,
  onMessage: (message: MessageOf<K>, meta: MessageMeta) => void,
  options: UseSubscribeOptions = {},
): SubscriptionState {
  const client = useClient('useSubscribe')
  const ch = serializeChannelKey(channel)
  const latest = useRef({ onMessage, options, ch })
  useInsertionEffect(() => {
    latest.current = { onMessage, options, ch }
  })
  const enabled = options.enabled ?? true
  const [state, setState] = useState(idleState)
  useEffect(() => {
    if (!enabled) return
    const unsubscribe = client.subscribe(
      parseChannelKey(ch),
      (message, meta) => {
        // After a re-render with other params, the old channel's messages are dropped.
        if (latest.current.ch === ch) latest.current.onMessage(message as MessageOf<K>, meta)
      },
      {
        ...(latest.current.options.rewind !== undefined && { rewind: latest.current.options.rewind }),
        onLive: (info) => latest.current.options.onLive?.(info),
        onReset: () => latest.current.options.onReset?.(),
        onError: (error) => latest.current.options.onError?.(error),
      },
    )
    setState(unsubscribe.state)
    return () => {
      unsubscribe()
      setState(idleState)
    }
  }, [client, ch, enabled])
  return useSyncExternalStore(state.subscribe, state.getSnapshot, idleState.getSnapshot)
}
