// docs/deployment.md: allowedOrigins when the proxy does not pass Host through, as pasted.
import { createNodeServer } from '@tanstack/realtime-preset-node'

// ---- docs/deployment.md ----
const realtime = createNodeServer({
  getAuthToken: (req) => getUserIdFromRequest(req),
  allowedOrigins: ['https://app.example.com'],
})
// ---- end ----

// The user's own function (hoisted): here the `token` query parameter is the user id.
function getUserIdFromRequest(req: { url?: string }): string | null {
  return new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
}

export { realtime }
