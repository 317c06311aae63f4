// docs/frameworks.md: the realtime server beside a TanStack Start app, as pasted (the test sets PORT and PUBLISH_PORT to 0).
// ---- docs/frameworks.md ----
// realtime-server.ts: a second process beside your Start app
import { createServer } from 'node:http'
import { createNodeServer } from '@tanstack/realtime-preset-node'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
})

// The WebSocket endpoint: Vite's proxy (development) or your reverse proxy routes /_realtime here.
const httpServer = createServer((_req, res) => res.writeHead(404).end())
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
httpServer.listen(Number(process.env.PORT ?? 3001))

// Server-side publish for the Start app, on a port only this machine can reach.
const publishServer = createServer(async (req, res) => {
  if (req.method !== 'POST') return res.writeHead(405).end()
  try {
    let body = ''
    for await (const chunk of req) body += chunk
    const { channel, data } = JSON.parse(body)
    res.end(JSON.stringify(await realtime.publish(channel, data)))
  } catch (error) {
    res.writeHead(400).end(String(error))
  }
})
publishServer.listen(Number(process.env.PUBLISH_PORT ?? 3002), '127.0.0.1')
// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { httpServer, publishServer, realtime }
