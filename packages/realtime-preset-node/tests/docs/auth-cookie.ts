// docs/auth.md: session cookies, as pasted.
// ---- docs/auth.md ----
import type { IncomingMessage } from 'node:http'
import { createNodeServer } from '@tanstack/realtime-preset-node'

/** One cookie of a request, or undefined. */
function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const pair of req.headers.cookie?.split(';') ?? []) {
    const [key, ...value] = pair.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

const realtime = createNodeServer({
  // `sessions` is your session store: a session id -> { userId, role }, or null.
  async getAuthToken(req) {
    const sessionId = readCookie(req, 'sid')
    return sessionId ? await sessions.get(sessionId) : null
  },
  authorize: (session, [name]) =>
    name === 'admin' && session.role !== 'admin' ? null : { subscribe: true, publish: true, presence: true },
})
// ---- end ----

// The user's own session store.
const rows = new Map([['s3cr3t', { userId: 'ada', role: 'member' }]])
const sessions = { get: async (id: string) => rows.get(id) ?? null }

export { realtime }
