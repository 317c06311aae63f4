'use client'
import { type ChannelKey, type PublishOf, serializeChannelKey } from '@tanstack/realtime'
import { useCallback, useInsertionEffect, useRef } from 'react'
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
): (data: PublishOf<K>, options?: { timeoutMs?: number }) => Promise<{ seq: number }> {
  const client = useClient('usePublish')
  const ch = serializeChannelKey(channel)
  // The key as given (a definition's key carries its schemas, checked before sending); a new array
  // for the same channel does not change the function. Kept on commit, as in useSubscribe, not
  // during a render React may discard.
  const latest = useRef(channel)
  useInsertionEffect(() => {
    latest.current = channel
  })
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new function only when the channel changes
  return useCallback((data, options) => client.publish(latest.current, data, options), [client, ch])
}
