// docs/frameworks.md: publishing from a TanStack Start app, as pasted.
// ---- docs/frameworks.md ----
// src/realtime.server.ts: in the Start app, for server functions and server routes
import type { ChannelKey } from '@tanstack/realtime'

export async function publish(channel: ChannelKey, data: unknown): Promise<{ seq: number }> {
  const res = await fetch(`http://127.0.0.1:${process.env.PUBLISH_PORT ?? 3002}/`, {
    method: 'POST',
    body: JSON.stringify({ channel, data }),
  })
  if (!res.ok) throw new Error(`Realtime publish failed: ${await res.text()}`)
  return res.json()
}
// ---- end ----
