'use client'
import type { ConnectionStatus, RealtimeClient, RealtimeError } from '@tanstack/realtime'
import { useSyncExternalStore } from 'react'
import { useClient } from './context.js'

/** What {@link useRealtime} returns. */
export interface UseRealtimeResult {
  /** `connecting`, `connected`, `reconnecting`, `refused` or `disconnected` (also during server rendering). */
  status: ConnectionStatus
  /** Why the status is `refused` (`UnauthorizedError`, `ForbiddenError`), else undefined. */
  error: RealtimeError | undefined
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
 * const { status, error, connect, disconnect } = useRealtime()
 * ```
 */
export function useRealtime(): UseRealtimeResult {
  const client = useClient('useRealtime')
  const status = useSyncExternalStore(client.status.subscribe, client.status.getSnapshot, serverStatus)
  return { status, error: client.error, connect: client.connect, disconnect: client.disconnect, client }
}
