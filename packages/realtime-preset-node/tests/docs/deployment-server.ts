// docs/deployment.md: the Node server behind a reverse proxy, as pasted (the test sets PORT=0).
// ---- docs/deployment.md ----
// server.ts
import { createServer } from 'node:http'
import { createNodeServer } from '@tanstack/realtime-preset-node'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
})

const httpServer = createServer((req, res) => {
  // Health check for the proxy, the load balancer or the orchestrator.
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(realtime.server.stats()))
    return
  }
  res.writeHead(404).end() // your app's other routes
})
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
// The proxy runs on this machine: listen on loopback only.
httpServer.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')

// `docker stop` and systemd send SIGTERM: clients get 1001 and reconnect with backoff.
process.on('SIGTERM', async () => {
  await realtime.close()
  httpServer.close()
})
// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { httpServer, realtime }
