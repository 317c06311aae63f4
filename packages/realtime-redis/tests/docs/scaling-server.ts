// docs/scaling.md: one of the processes, as pasted (the test sets REDIS_URL and PORT=0, and imports it twice).
// ---- docs/scaling.md ----
// server.ts (every process)
import { createServer } from 'node:http'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { createRedisStore } from '@tanstack/realtime-redis'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
  store: createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
})

const httpServer = createServer()
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
httpServer.listen(Number(process.env.PORT ?? 3000))

process.on('SIGTERM', async () => {
  await realtime.close() // clients get 1001 and reconnect, to another process
  httpServer.close()
})
// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { httpServer, realtime }
