import type { ChannelKey, PublishOf } from '@tanstack/realtime'
import { getClient } from './context.js'
import { type MaybeGetter, read } from './reactive.svelte.js'

/**
 * Returns a function that publishes to `channel` (read when called, so a getter follows props) and
 * resolves with the server's ack, or rejects with a typed error such as `ForbiddenError`.
 *
 * @throws {MissingProviderError} without a client; the function rejects with `InvalidChannelKeyError`
 *   for an invalid key.
 * @example
 * ```svelte
 * <script>
 *   let { roomId } = $props()
 *   const publish = usePublish(() => ['chat', { roomId }])
 * </script>
 * <button onclick={() => publish('Hello!')}>Send</button>
 * ```
 */
export function usePublish<K extends ChannelKey<any, any>>(
  channel: MaybeGetter<K>,
): (data: PublishOf<K>, options?: { timeoutMs?: number }) => Promise<{ seq: number }> {
  const client = getClient('usePublish')
  return (data, options) => client.publish(read(channel), data, options)
}
