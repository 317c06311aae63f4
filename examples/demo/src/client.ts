import { createRealtimeClient, defineChannel, type MessageOf, type PresenceStateOf } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { chatChannel, cursorsChannel } from '../channels.js'
import { userName } from './identity'

// The chat and the cursors are defined with their schemas in ../channels.js, shared with the server.
export { chatChannel, cursorsChannel }

// No url: in a browser it is derived from window.location. The name travels as the token.
export const client = createRealtimeClient({
  transport: nodeTransport({ getAuthToken: () => userName }),
})

/** A chat message as subscribers receive it: `from` and `at` are set by the server. */
export type ChatMessage = MessageOf<ReturnType<typeof chatChannel>>

export interface Todo {
  id: string
  title: string
  done: boolean
  createdBy: string
  createdAt: number
}

/** A member of the board: its name (set by the server) and where its pointer is. */
export type CursorState = PresenceStateOf<ReturnType<typeof cursorsChannel>>

export const todosChannel = defineChannel<{ listId: string }>('todos')
