// @ts-check
// The demo's channel definitions, shared by the server (server.js, run by Node as it is) and the
// browser app (src/client.ts, bundled by esbuild): plain JavaScript, so both load it without a build
// step. The server checks every request against these schemas; the browser gets the types and checks
// a message before sending it.
import { defineChannel, presenceChannel } from '@tanstack/realtime'
import * as z from 'zod'

/** The chat: a client publishes `{ id, text }`; the server adds the verified author and its time. */
export const chatChannel = defineChannel('chat', {
  params: z.object({ roomId: z.string().max(64) }),
  publish: z.object({
    id: z.string().min(1).max(64),
    text: z.string().trim().min(1).max(500, 'A message has at most 500 characters.'),
  }),
  message: z.object({ id: z.string(), text: z.string(), from: z.string(), at: z.number() }),
})

/** Who is on the board, and where their pointer is (in percent of the board, or null when elsewhere). */
export const cursorsChannel = presenceChannel('cursors', {
  params: z.object({ boardId: z.string().max(64) }),
  state: z.object({
    name: z.string().max(40),
    cursor: z.object({ x: z.number(), y: z.number() }).nullable(),
  }),
})
