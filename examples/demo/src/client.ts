import { createRealtimeClient, defineChannel, presenceChannel } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { userName } from './identity'

// No url: in a browser it is derived from window.location. The name travels as the token.
export const client = createRealtimeClient({
  transport: nodeTransport({ getAuthToken: () => userName }),
})

export interface ChatMessage {
  id: string
  from: string
  text: string
  at: number
}

export interface Todo {
  id: string
  title: string
  done: boolean
  createdBy: string
  createdAt: number
}

export interface CursorState {
  name: string
  /** Position in the board, in percent of its size, or null when the pointer is elsewhere. */
  cursor: { x: number; y: number } | null
}

export const chatChannel = defineChannel<{ roomId: string }, ChatMessage>('chat')
export const todosChannel = defineChannel<{ listId: string }>('todos')
export const cursorsChannel = presenceChannel<{ boardId: string }, CursorState>('cursors')
