// docs/frameworks.md: Fastify, as pasted (the test sets PORT=0).
// ---- docs/frameworks.md ----
// server.ts
import { createNodeServer } from '@tanstack/realtime-preset-node'
import Fastify from 'fastify'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
})

const app = Fastify()
app.server.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
// preClose: open WebSockets would keep app.close() waiting.
app.addHook('preClose', () => realtime.close())

// Server-side publish from a route.
app.post<{ Body: { text: string } }>('/api/announcements', async (request) => {
  const { seq } = await realtime.publish(['announcements'], { text: request.body.text })
  return { seq }
})

await app.listen({ port: Number(process.env.PORT ?? 3000) })

// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { app, realtime }
