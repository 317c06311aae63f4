import { ConfigurationError, type RealtimeClient } from '@tanstack/realtime'
import { type App, type InjectionKey, inject, provide } from 'vue'

/** @internal */
export const realtimeClientKey: InjectionKey<RealtimeClient> = Symbol('RealtimeClient')

/** Thrown when a composable runs where no client was provided. */
export class MissingProviderError extends ConfigurationError {
  override name = 'MissingProviderError'
  constructor(composable: string) {
    super(
      `${composable} must be used in the setup of a component of an app with app.use(RealtimePlugin, { client }), ` +
        'or below a component that called provideRealtimeClient(client).',
    )
  }
}

/**
 * Makes a realtime client available to every component of the app. Installing it opens no
 * connection: the client connects on first use (a subscribe, publish or presence once mounted), so
 * server-side rendering never opens a socket.
 *
 * @example
 * ```ts
 * createApp(App).use(RealtimePlugin, { client }).mount('#app')
 * ```
 */
export const RealtimePlugin = {
  install(app: App, options: { client: RealtimeClient }): void {
    app.provide(realtimeClientKey, options.client)
  },
}

/**
 * Provides a realtime client to the calling component and its descendants (call it in `setup`),
 * for a part of an app, or an app without {@link RealtimePlugin}.
 *
 * @example
 * ```ts
 * provideRealtimeClient(client)
 * ```
 */
export function provideRealtimeClient(client: RealtimeClient): void {
  provide(realtimeClientKey, client)
}

/** @internal The provided client, or a clear error. */
export function useClient(composable: string): RealtimeClient {
  const client = inject(realtimeClientKey, null)
  if (!client) throw new MissingProviderError(composable)
  return client
}
