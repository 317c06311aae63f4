import type { ConnectionOptions } from 'node:tls'
import type { WebSocketConstructor } from '@tanstack/realtime'
import type { ClientOptions } from 'ws'
import { WebSocket } from 'ws'

/**
 * npm `ws` sending an `Origin` header, as a browser on a page of `origin` does (with more `ws`
 * options, such as TLS ones, when given).
 */
export function browserWebSocket(
  origin: string,
  options: ClientOptions & Pick<ConnectionOptions, 'servername'> = {},
): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ...options, origin })
    }
  } as unknown as WebSocketConstructor
}
