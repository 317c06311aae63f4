'use client'
import type { RealtimeClient } from '@tanstack/realtime'
import type { ReactNode } from 'react'
import { RealtimeContext } from './context.js'

/** Props of {@link RealtimeProvider}. */
export interface RealtimeProviderProps {
  /** The app's client from `createRealtimeClient()`; create it once, outside components. */
  client: RealtimeClient
  children?: ReactNode
}

/**
 * Makes a realtime client available to the hooks below it. Rendering it opens no connection: the
 * client connects on first use (a subscribe, publish or presence in an effect), so server-side
 * rendering never opens a socket.
 *
 * @example
 * ```tsx
 * <RealtimeProvider client={client}>
 *   <App />
 * </RealtimeProvider>
 * ```
 */
export function RealtimeProvider({ client, children }: RealtimeProviderProps) {
  return <RealtimeContext.Provider value={client}>{children}</RealtimeContext.Provider>
}
