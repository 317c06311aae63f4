// docs/auth.md: the token endpoint and the realtime server, as pasted (the test sets PORT=0).
// ---- docs/auth.md ----
// server.ts
import { createNodeServer } from '@tanstack/realtime-preset-node'
import express from 'express'
import { signToken, verifyToken } from './token.js'

const realtime = createNodeServer({
  getAuthToken(req) {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
    return token ? verifyToken(token) : null // the claims { sub, exp }; `sub` becomes the user id
  },
})

const app = express()

// The page's session (checked by your getSessionUser) buys a one-minute realtime token.
app.get('/api/realtime-token', async (req, res) => {
  const user = await getSessionUser(req)
  if (!user) {
    res.sendStatus(401)
    return
  }
  res.type('text/plain').send(signToken(user.id))
})

const httpServer = app.listen(Number(process.env.PORT ?? 3000))
httpServer.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))
// ---- end ----

// The user's own session check: the `sid` cookie of the test's signed-in user.
async function getSessionUser(req: { headers: { cookie?: string } }) {
  return req.headers.cookie?.includes('sid=s3cr3t') ? { id: 'ada' } : null
}

export { app, httpServer, realtime }
