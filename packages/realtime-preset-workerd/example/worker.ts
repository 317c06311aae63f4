// An example Worker with the README's Workers setup: one Durable Object per channel, the handler
// that authenticates and routes sockets, and a server-side publish from an API route.
// `npx wrangler dev` (in this folder) serves it on http://localhost:8787; connect with
// `workerdTransport({ url: 'http://localhost:8787', getAuthToken: () => 'alice' })`.
import { createWorkerdHandler, publish, RealtimeChannel, type WorkerdEnv } from '@tanstack/realtime-preset-workerd'

// Re-export the DO class so wrangler can bind it.
export { RealtimeChannel }

interface Env extends WorkerdEnv {
  AUTH_SECRET: string
}

const handler = createWorkerdHandler<Env>({
  getAuthToken(request) {
    // Auth token from query param, cookie, or Authorization header.
    return new URL(request.url).searchParams.get('token')
  },

  async authorize(token, channel) {
    const userId = await verifyJwt(token)
    if (!userId) return null
    // Everyone signed in reads and shows presence; only chat rooms take messages from clients.
    return { subscribe: true, publish: channel[0] === 'chat', presence: true, userId }
  },
})

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    // Server-side publish from an API route, for callers holding AUTH_SECRET.
    if (url.pathname === '/api/announce' && request.method === 'POST') {
      if (request.headers.get('Authorization') !== `Bearer ${env.AUTH_SECRET}`) {
        return new Response('Unauthorized\n', { status: 401 })
      }
      const position = await publish(env, ['announcements'], await request.json())
      return Response.json(position)
    }
    return handler.fetch(request, env)
  },
}

/**
 * Demo only: accepts any short word as the user id. Replace it with real verification, such as
 * `jwtVerify(token, secret)` from `jose`.
 */
async function verifyJwt(token: string): Promise<string | null> {
  return /^[\w-]{1,64}$/.test(token) ? token : null
}
