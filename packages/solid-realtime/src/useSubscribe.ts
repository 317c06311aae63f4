import {
  type ChannelKey,
  type MessageMeta,
  type MessageOf,
  parseChannelKey,
  type SubscribeOptions,
  serializeChannelKey,
} from '@tanstack/realtime'
import { createEffect, createMemo, onCleanup } from 'solid-js'
import { useClient } from './context.js'
import { type MaybeAccessor, read } from './reactive.js'

/** Options of {@link useSubscribe}. */
export interface UseSubscribeOptions extends SubscribeOptions {
  /** Subscribe only while true (an accessor works). Default true. */
  enabled?: MaybeAccessor<boolean>
}

/**
 * Subscribes to a channel while the component is mounted. Pass an accessor for a channel that
 * depends on props or signals: a change of params moves the subscription, and no message of the old
 * channel is delivered after the change. Components of one client share one server subscription per
 * channel.
 *
 * @param channel - a key such as `['chat', { roomId }]`, a typed key from a `defineChannel` definition,
 *   or an accessor of one
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider.
 * @example
 * ```tsx
 * useSubscribe(() => ['chat', { roomId: props.roomId }], (msg) => setMessages((prev) => [...prev, String(msg)]))
 * ```
 */
export function useSubscribe<K extends ChannelKey<any, any>>(
  channel: MaybeAccessor<K>,
  onMessage: (message: MessageOf<K>, meta: MessageMeta) => void,
  options: UseSubscribeOptions = {},
): void {
  const client = useClient('useSubscribe')
  const ch = createMemo(() => serializeChannelKey(read(channel)))
  createEffect(() => {
    if (!(read(options.enabled) ?? true)) return
    const current = ch()
    const unsubscribe = client.subscribe(
      parseChannelKey(current),
      (message, meta) => {
        // Once the params changed, the old channel's messages are dropped.
        if (ch() === current) onMessage(message as MessageOf<K>, meta)
      },
      options,
    )
    onCleanup(unsubscribe)
  })
}
