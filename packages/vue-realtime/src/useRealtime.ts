import type { ConnectionStatus, RealtimeClient } from '@tanstack/realtime'
import type { ShallowRef } from 'vue'
import { useClient } from './context.js'
import { useObservable } from './useObservable.js'

/** What {@link useRealtime} returns. */
export interface UseRealtimeResult {
  /** `connecting`, `connected`, `reconnecting`, `refused` or `disconnected` (also during server rendering). */
  status: Readonly<ShallowRef<ConnectionStatus>>
  connect: () => void
  disconnect: () => void
  client: RealtimeClient
}

/**
 * The connection status (a ref) and controls of the provided client.
 *
 * @throws {MissingProviderError} where no client was provided.
 * @example
 * ```ts
 * const { status, connect, disconnect } = useRealtime()
 * ```
 */
export function useRealtime(): UseRealtimeResult {
  const client = useClient('useRealtime')
  const status = useObservable(() => client.status)
  return { status, connect: client.connect, disconnect: client.disconnect, client }
}
