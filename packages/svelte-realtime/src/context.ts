import { ConfigurationError, type RealtimeClient } from '@tanstack/realtime'
import { getContext, hasContext, setContext } from 'svelte'

const key = Symbol('RealtimeClient')

/** Thrown when a helper runs in a component without a client set above it. */
export class MissingProviderError extends ConfigurationError {
  override name = 'MissingProviderError'
  constructor(helper: string) {
    super(`${helper} must be used in a component below one that called setRealtimeClient(client).`)
  }
}

/**
 * Makes a realtime client available to the calling component and its descendants; call it during
 * component initialisation (in `<script>`), usually in the root layout. It opens no connection: the
 * client connects on first use (a subscribe, publish or presence once mounted), so server-side
 * rendering never opens a socket.
 *
 * @example
 * ```svelte
 * <script>
 *   import { setRealtimeClient } from '@tanstack/svelte-realtime'
 *   import { client } from './client'
 *   setRealtimeClient(client)
 * </script>
 * ```
 */
export function setRealtimeClient(client: RealtimeClient): RealtimeClient {
  return setContext(key, client)
}

/** @internal The client set above the calling component, or a clear error. */
export function getClient(helper: string): RealtimeClient {
  const client = hasContext(key) ? getContext<RealtimeClient | undefined>(key) : undefined
  if (!client) throw new MissingProviderError(helper)
  return client
}
