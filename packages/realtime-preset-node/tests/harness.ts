import { createRealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { HOOK_TIMEOUT_MS, schemaChannels } from '../../realtime/tests/conformance/schema-channels.js'
import type { Harness } from '../../realtime/tests/conformance/suite.js'
import { closeClients, makeClient, startServer, tokenFromQuery } from './helpers.js'

/** The Node preset's conformance harness: `createNodeServer` on a real HTTP server, `nodeTransport` clients. */
export const nodeHarness: Harness = {
  name: 'node',
  closeClients,
  async start(options = {}) {
    const { identify, authorize, collection, ...rest } = options
    const server = await startServer({
      channels: schemaChannels((channel, data) => server.realtime.publish(channel, data)),
      hookTimeoutMs: HOOK_TIMEOUT_MS,
      ...rest,
      ...(authorize && { authorize }),
      ...(collection && { collections: { todos: collection } }),
      ...(identify && { getAuthToken: (req) => identify(tokenFromQuery(req)) }),
    })
    return {
      url: server.url,
      port: server.port,
      transport: (token, url = server.url) =>
        nodeTransport({ url, getAuthToken: typeof token === 'function' ? token : () => token }),
      client(token, { url = server.url, ...clientOptions } = {}) {
        if (typeof token === 'string') return makeClient({ url }, token, clientOptions)
        return createRealtimeClient({ transport: nodeTransport({ url, getAuthToken: token }), ...clientOptions })
      },
      socketUrl: (_channel, query) => `${server.url}/_realtime?${query}`,
      publish: (channel, data) => server.realtime.publish(channel, data),
      getPresence: (channel) => server.realtime.getPresence(channel),
      getHistory: (channel, options) => server.realtime.getHistory(channel, options),
      subscriberCount: async (channel) => server.realtime.engine.subscriberCount(channel),
      stop: () => server.stop(),
      restart: () => server.restart(),
    }
  },
}
