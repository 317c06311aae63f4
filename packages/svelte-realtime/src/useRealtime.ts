import type { ConnectionStatus, RealtimeClient } from '@tanstack/realtime'
import { getClient } from './context.js'
import { fromObservable } from './reactive.svelte.js'

/** What {@link useRealtime} returns; `status` is reactive (read it as `realtime.status`, don't destructure). */
export interface UseRealtimeResult {
  /** `connecting`, `connected`, `reconnecting`, `refused` or `disconnected` (also during server rendering). */
  readonly status: ConnectionStatus
  connect: () => void
  disconnect: () => void
  client: RealtimeClient
}

/**
 * The connection status and controls of the client set by `setRealtimeClient()`.
 *
 * @throws {MissingProviderError} without a client set above the component.
 * @example
 * ```svelte
 * <script>
 *   const realtime = useRealtime()
 * </script>
 * <span>{realtime.status}</span>
 * ```
 */
export function useRealtime(): UseRealtimeResult {
  const client = getClient('useRealtime')
  const status = fromObservable(() => client.status)
  return {
    get status() {
      return status.current
    },
    connect: client.connect,
    disconnect: client.disconnect,
    client,
  }
}
