import type { ConnectionStatus, RealtimeClient } from '@tanstack/realtime'
import { useClient } from './context.js'
import { fromObservable } from './reactive.js'

/** What {@link useRealtime} returns; `status` is reactive (read it as `realtime.status`, don't destructure). */
export interface UseRealtimeResult {
  /** `connecting`, `connected`, `reconnecting`, `refused` or `disconnected` (also during server rendering). */
  readonly status: ConnectionStatus
  connect: () => void
  disconnect: () => void
  client: RealtimeClient
}

/**
 * The connection status and controls of the provider's client.
 *
 * @throws {MissingProviderError} outside `<RealtimeProvider>`.
 * @example
 * ```tsx
 * const realtime = useRealtime()
 * return <span>{realtime.status}</span>
 * ```
 */
export function useRealtime(): UseRealtimeResult {
  const client = useClient('useRealtime')
  const status = fromObservable(() => client.status)
  return {
    get status() {
      return status()
    },
    connect: client.connect,
    disconnect: client.disconnect,
    client,
  }
}
