// docs/frameworks.md: Express, as pasted (the test sets PORT=0).
// ---- docs/frameworks.md ----
// server.ts
import { createNodeServer } from '@tanstack/realtime-preset-node'
import express from 'express'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
})

const app = express()
app.use(express.json())

// Server-side publish from a route.
app.post('/api/announcements', async (req, res) => {
  const { seq } = await realtime.publish(['announcements'], { text: req.body.text })
  res.json({ seq })
})

const httpServer = app.listen(Number(process.env.PORT ?? 3000))
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))

// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { httpServer, realtime }
