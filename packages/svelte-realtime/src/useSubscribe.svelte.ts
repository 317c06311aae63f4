import {
  type ChannelKey,
  type MessageMeta,
  type MessageOf,
  parseChannelKey,
  type SubscribeOptions,
  serializeChannelKey,
} from '@tanstack/realtime'
import { getClient } from './context.js'
import { type MaybeGetter, read } from './reactive.svelte.js'

/** Options of {@link useSubscribe}. */
export interface UseSubscribeOptions extends SubscribeOptions {
  /** Subscribe only while true (a getter works). Default true. */
  enabled?: MaybeGetter<boolean>
}

/**
 * Subscribes to a channel while the component is mounted. Pass a getter for a channel that depends on
 * props or state: a change of params moves the subscription, and no message of the old channel is
 * delivered after the change. Components of one client share one server subscription per channel.
 *
 * @param channel - a key such as `['chat', { roomId }]`, a typed key from a `defineChannel` definition,
 *   or a getter of one
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} without a client.
 * @example
 * ```svelte
 * <script>
 *   let { roomId } = $props()
 *   let messages = $state([])
 *   useSubscribe(() => ['chat', { roomId }], (msg) => messages.push(String(msg)))
 * </script>
 * ```
 */
export function useSubscribe<K extends ChannelKey<any, any>>(
  channel: MaybeGetter<K>,
  onMessage: (message: MessageOf<K>, meta: MessageMeta) => void,
  options: UseSubscribeOptions = {},
): void {
  const client = getClient('useSubscribe')
  const ch = $derived(serializeChannelKey(read(channel)))
  $effect(() => {
    if (!(read(options.enabled) ?? true)) return
    const current = ch
    return client.subscribe(
      parseChannelKey(current),
      (message, meta) => {
        // Once the params changed, the old channel's messages are dropped.
        if (ch === current) onMessage(message as MessageOf<K>, meta)
      },
      options,
    )
  })
}
