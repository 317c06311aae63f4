import type { ChannelKey, PublishOf } from '@tanstack/realtime'
import { type MaybeRefOrGetter, toValue } from 'vue'
import { useClient } from './context.js'

/**
 * Returns a function that publishes to `channel` (read when called, so a ref or getter follows
 * props) and resolves with the server's ack, or rejects with a typed error such as `ForbiddenError`.
 *
 * @throws {MissingProviderError} where no client was provided; the function rejects with
 *   `InvalidChannelKeyError` for an invalid key.
 * @example
 * ```ts
 * const publish = usePublish(() => ['chat', { roomId: props.roomId }])
 * await publish('Hello!')
 * ```
 */
export function usePublish<K extends ChannelKey<any, any>>(
  channel: MaybeRefOrGetter<K>,
): (data: PublishOf<K>, options?: { timeoutMs?: number }) => Promise<{ seq: number }> {
  const client = useClient('usePublish')
  return (data, options) => client.publish(toValue(channel), data, options)
}
