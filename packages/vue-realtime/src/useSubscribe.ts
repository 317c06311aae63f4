import {
  type ChannelKey,
  type MessageMeta,
  type MessageOf,
  parseChannelKey,
  type SubscribeOptions,
  serializeChannelKey,
} from '@tanstack/realtime'
import { computed, type MaybeRefOrGetter, toValue, watchEffect } from 'vue'
import { useClient } from './context.js'

/** Options of {@link useSubscribe}. */
export interface UseSubscribeOptions extends SubscribeOptions {
  /** Subscribe only while true (a ref or getter works). Default true. */
  enabled?: MaybeRefOrGetter<boolean>
}

/**
 * Subscribes to a channel while the component is mounted. Pass a ref or a getter for a channel that
 * depends on props: a change of params moves the subscription, and no message of the old channel
 * is delivered after the change. Components of one client share one server subscription per channel.
 *
 * @param channel - a key such as `['chat', { roomId }]`, a typed key from a `defineChannel` definition,
 *   or a ref or getter of one
 * @throws {MissingProviderError} where no client was provided; `InvalidChannelKeyError` (reported to
 *   Vue's error handler) for an invalid key.
 * @example
 * ```ts
 * useSubscribe(() => ['chat', { roomId: props.roomId }], (msg) => messages.value.push(String(msg)))
 * ```
 */
export function useSubscribe<K extends ChannelKey<any, any>>(
  channel: MaybeRefOrGetter<K>,
  onMessage: (message: MessageOf<K>, meta: MessageMeta) => void,
  options: UseSubscribeOptions = {},
): void {
  const client = useClient('useSubscribe')
  const ch = computed(() => serializeChannelKey(toValue(channel)))
  watchEffect(
    (onCleanup) => {
      if (!(toValue(options.enabled) ?? true)) return
      const current = ch.value
      const unsubscribe = client.subscribe(
        parseChannelKey(current),
        (message, meta) => {
          // Once the params changed, the old channel's messages are dropped.
          if (ch.value === current) onMessage(message as MessageOf<K>, meta)
        },
        options,
      )
      onCleanup(unsubscribe)
    },
    { flush: 'post' },
  )
}
