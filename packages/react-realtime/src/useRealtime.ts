'use client'
import type { ConnectionStatus, RealtimeClient } from '@tanstack/realtime'
import { useSyncExternalStore } from 'react'
import { useClient } from './context.js'

/** What {@link useRealtime} returns. */
export interface UseRealtimeResult {
  /** `connecting`, `connected`, `reconnecting` or `disconnected` (also during server rendering). */
  status: ConnectionStatus
  connect: () => void
  disconnect: () => void
  client: RealtimeClient
}

const serverStatus = (): ConnectionStatus => 'disconnected'

/**
 * The connection status and controls of the provider's client.
 *
 * @throws {MissingProviderError} outside `<RealtimeProvider>`.
 * @example
 * ```tsx
 * const { status, connect, disconnect } = useRealtime()
 * ```
 */
export function useRealtime(): UseRealtimeResult {
  const client = useClient('useRealtime')
  const status = useSyncExternalStore(client.status.subscribe, client.status.getSnapshot, serverStatus)
  return { status, connect: client.connect, disconnect: client.disconnect, client }
}
