// docs/frameworks.md: Hono on Node, as pasted (the test sets PORT=0).
// ---- docs/frameworks.md ----
// server.ts
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { Hono } from 'hono'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
})

const app = new Hono()

// Server-side publish from a route.
app.post('/api/announcements', async (c) => {
  const { text } = await c.req.json<{ text: string }>()
  const { seq } = await realtime.publish(['announcements'], { text })
  return c.json({ seq })
})

const httpServer = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }) as Server
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))

// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { httpServer, realtime }
