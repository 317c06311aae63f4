import { ConfigurationError, type RealtimeClient } from '@tanstack/realtime'
import { createComponent, createContext, type JSX, useContext } from 'solid-js'

const RealtimeContext = createContext<RealtimeClient>()

/** Thrown when a primitive runs outside `<RealtimeProvider>`. */
export class MissingProviderError extends ConfigurationError {
  override name = 'MissingProviderError'
  constructor(primitive: string) {
    super(`${primitive} must be used inside <RealtimeProvider client={client}>.`)
  }
}

/** Props of {@link RealtimeProvider}. */
export interface RealtimeProviderProps {
  /** The app's client from `createRealtimeClient()`; create it once, outside components. */
  client: RealtimeClient
  children?: JSX.Element
}

/**
 * Makes a realtime client available to the primitives below it. Rendering it opens no connection:
 * the client connects on first use (a subscribe, publish or presence once mounted), so server-side
 * rendering never opens a socket.
 *
 * @example
 * ```tsx
 * <RealtimeProvider client={client}>
 *   <App />
 * </RealtimeProvider>
 * ```
 */
export function RealtimeProvider(props: RealtimeProviderProps): JSX.Element {
  return createComponent(RealtimeContext.Provider, {
    get value() {
      return props.client
    },
    get children() {
      return props.children
    },
  })
}

/** @internal The provider's client, or a clear error. */
export function useClient(primitive: string): RealtimeClient {
  const client = useContext(RealtimeContext)
  if (!client) throw new MissingProviderError(primitive)
  return client
}
