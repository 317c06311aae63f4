'use client'
import {
  type ChannelKey,
  type MessageMeta,
  type MessageOf,
  parseChannelKey,
  type SubscribeOptions,
  serializeChannelKey,
} from '@tanstack/realtime'
import { useEffect, useInsertionEffect, useRef } from 'react'
import { useClient } from './context.js'

/** Options of {@link useSubscribe}. */
export interface UseSubscribeOptions extends SubscribeOptions {
  /** Subscribe only while true. Default true. */
  enabled?: boolean
}

/**
 * Subscribes to a channel while the component is mounted. The latest `onMessage` is always called
 * (no resubscribe when it changes); a change of channel params moves the subscription, and no
 * message of the old channel is delivered after the change. Components of one client share one
 * server subscription per channel.
 *
 * @param channel - a key such as `['chat', { roomId }]`, or a typed key from a `defineChannel` definition
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider.
 * @example
 * ```tsx
 * useSubscribe(['chat', { roomId }], (msg) => setMessages((prev) => [...prev, String(msg)]))
 * ```
 */
export function useSubscribe<K extends ChannelKey<any, any>>(
  channel: K,
  onMessage: (message: MessageOf<K>, meta: MessageMeta) => void,
  options: UseSubscribeOptions = {},
): void {
  const client = useClient('useSubscribe')
  const ch = serializeChannelKey(channel)
  const latest = useRef({ onMessage, options, ch })
  useInsertionEffect(() => {
    latest.current = { onMessage, options, ch }
  })
  const enabled = options.enabled ?? true
  useEffect(() => {
    if (!enabled) return
    return client.subscribe(
      parseChannelKey(ch),
      (message, meta) => {
        // After a re-render with other params, the old channel's messages are dropped.
        if (latest.current.ch === ch) latest.current.onMessage(message as MessageOf<K>, meta)
      },
      {
        onLive: (info) => latest.current.options.onLive?.(info),
        onReset: () => latest.current.options.onReset?.(),
        onError: (error) => latest.current.options.onError?.(error),
      },
    )
  }, [client, ch, enabled])
}
