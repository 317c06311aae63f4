'use client'
import { ConfigurationError, type RealtimeClient } from '@tanstack/realtime'
import { createContext, useContext } from 'react'

/** @internal */
export const RealtimeContext = createContext<RealtimeClient | null>(null)

/** Thrown when a hook runs outside `<RealtimeProvider>`. */
export class MissingProviderError extends ConfigurationError {
  override name = 'MissingProviderError'
  constructor(hook: string) {
    super(`${hook} must be used inside <RealtimeProvider client={client}>.`)
  }
}

/** @internal The provider's client, or a clear error. */
export function useClient(hook: string): RealtimeClient {
  const client = useContext(RealtimeContext)
  if (!client) throw new MissingProviderError(hook)
  return client
}
