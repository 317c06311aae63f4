// @ts-check
/**
 * (a) TanStack Realtime's Node preset, configured for benchmarking (no rate limit, no grace). With
 * REDIS_URL (the scale-out workloads), one of several processes sharing channels through the Redis store.
 */
import http from 'node:http'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { createRedisStore } from '@tanstack/realtime-redis'
import { serve } from './harness.js'

/** Everything allowed (one shared answer; the engine caches it per connection and channel). */
const ALLOW_ALL = Object.freeze({ subscribe: true, publish: true, presence: true })

const realtime = createNodeServer({
  path: '/_realtime',
  getAuthToken: (req) => new URL(req.url ?? '/', 'http://x').searchParams.get('token'),
  authorize: () => ALLOW_ALL,
  rateLimit: false,
  maxBufferedBytes: 256 * 1024 * 1024,
  presenceGraceMs: 0,
  onError: (error) => console.error('[bench ours]', error),
  ...(process.env.REDIS_URL && {
    store: createRedisStore({
      url: process.env.REDIS_URL,
      onError: (error) => console.error('[bench redis]', error),
    }),
  }),
})

const httpServer = http.createServer((_req, res) => res.writeHead(404).end())
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
serve(httpServer)
