import { createRealtimeClient, type RealtimeClient } from '@tanstack/realtime'
import { nodeTransport, type WebSocketConstructor } from '@tanstack/realtime-preset-node'
import { WebSocket } from 'ws'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'

export { eventually } from '../../realtime-preset-node/tests/helpers.js'

/** A real Node preset server on 127.0.0.1. */
export function startReactServer(): Promise<TestServer> {
  return startServer()
}

/**
 * A real client over npm `ws` (jsdom's own WebSocket does not work under vitest) whose `token` is its
 * user id.
 */
export function makeClient(server: TestServer, token: string): RealtimeClient {
  return createRealtimeClient({
    transport: nodeTransport({
      url: server.url,
      getAuthToken: () => token,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    }),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    presenceThrottleMs: 0,
  })
}
