// docs/auth.md: the browser client that fetches its tokens, as pasted (bundled for Chromium by the test).
// ---- docs/auth.md ----
// client.ts
import { createRealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'

export const client = createRealtimeClient({
  transport: nodeTransport({
    // Called before every connection attempt: each (re)connect gets a fresh token.
    async getAuthToken() {
      const res = await fetch('/api/realtime-token')
      return res.ok ? res.text() : null // null: no token; the server refuses, and the client stops until connect()
    },
  }),
})
// ---- end ----
