'use client'
import { type ChannelKey, type MessageOf, parseChannelKey, serializeChannelKey } from '@tanstack/realtime'
import { useCallback } from 'react'
import { useClient } from './context.js'

/**
 * Returns a function that publishes to `channel` and resolves with the server's ack (or rejects
 * with a typed error such as `ForbiddenError`). The function is stable while the channel is the same.
 *
 * @throws {InvalidChannelKeyError} for an invalid key; {@link MissingProviderError} outside the provider.
 * @example
 * ```tsx
 * const publish = usePublish(['chat', { roomId }])
 * <button onClick={() => publish('Hello!')}>Send</button>
 * ```
 */
export function usePublish<K extends ChannelKey<any, any>>(
  channel: K,
): (data: MessageOf<K>, options?: { timeoutMs?: number }) => Promise<{ seq: number }> {
  const client = useClient('usePublish')
  const ch = serializeChannelKey(channel)
  return useCallback((data, options) => client.publish(parseChannelKey(ch), data, options), [client, ch])
}
