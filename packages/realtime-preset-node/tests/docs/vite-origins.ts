// docs/vite.md: allowedOrigins instead of a proxy, as pasted.
// ---- docs/vite.md ----
import { createNodeServer } from '@tanstack/realtime-preset-node'

const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
  // Pages served by Vite (another origin) may connect in development.
  allowedOrigins: process.env.NODE_ENV === 'production' ? ['https://app.example.com'] : ['http://localhost:5173'],
})
// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { realtime }
