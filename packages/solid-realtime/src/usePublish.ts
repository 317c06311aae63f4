import type { ChannelKey, PublishOf } from '@tanstack/realtime'
import { useClient } from './context.js'
import { type MaybeAccessor, read } from './reactive.js'

/**
 * Returns a function that publishes to `channel` (read when called, so an accessor follows props) and
 * resolves with the server's ack, or rejects with a typed error such as `ForbiddenError`.
 *
 * @throws {MissingProviderError} outside the provider; the function rejects with
 *   `InvalidChannelKeyError` for an invalid key.
 * @example
 * ```tsx
 * const publish = usePublish(() => ['chat', { roomId: props.roomId }])
 * <button onClick={() => publish('Hello!')}>Send</button>
 * ```
 */
export function usePublish<K extends ChannelKey<any, any>>(
  channel: MaybeAccessor<K>,
): (data: PublishOf<K>, options?: { timeoutMs?: number }) => Promise<{ seq: number }> {
  const client = useClient('usePublish')
  return (data, options) => client.publish(read(channel), data, options)
}
