import { usePublish as useReactPublish } from '@tanstack/react-realtime'
import {
  type ChannelKey,
  createRealtimeClient,
  defineChannel,
  getPresence,
  type MessageOf,
  type PresenceMember,
  type PresenceStateOf,
  type PublishOf,
  presenceChannel,
  type RealtimeError,
  type RealtimeTransport,
  type SubscriptionStatus,
} from '@tanstack/realtime'
import { DROP, defineServerChannel, type HistoryMessage } from '@tanstack/realtime/server'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { usePublish as useVuePublish } from '@tanstack/vue-realtime'
import * as v from 'valibot'
import { expectTypeOf, test } from 'vitest'
import { z } from 'zod'

declare const transport: RealtimeTransport
const client = createRealtimeClient({ transport })

test('a typed channel carries its message type into subscribe and publish', () => {
  const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
  client.subscribe(chat({ roomId: '1' }), (msg) => {
    expectTypeOf(msg).toEqualTypeOf<{ text: string }>()
  })
  client.publish(chat({ roomId: '1' }), { text: 'hi' })
  expectTypeOf<PublishOf<ReturnType<typeof chat>>>().toEqualTypeOf<{ text: string }>()
  // @ts-expect-error wrong payload
  client.publish(chat({ roomId: '1' }), { txt: 'hi' })
  // @ts-expect-error params are required and typed
  chat({ room: '1' })
})

test('raw tuple keys accept any message', () => {
  client.subscribe(['chat', { roomId: '1' }], (msg) => {
    expectTypeOf(msg).toBeUnknown()
  })
  client.publish(['chat', { roomId: '1' }], 'anything')
  expectTypeOf<['chat', { roomId: string }]>().toExtend<ChannelKey>()
})

test('a presence definition types the members state', () => {
  const editor = presenceChannel<{ documentId: string }, { cursor: { x: number } | null }>('editor')
  const presence = getPresence(client, editor({ documentId: 'd' }))
  presence.enter({ cursor: null })
  presence.update({ cursor: { x: 1 } })
  // @ts-expect-error unknown state field
  presence.update({ color: 'red' })
  expectTypeOf(presence.getSnapshot().others).toEqualTypeOf<PresenceMember<{ cursor: { x: number } | null }>[]>()
})

test('channels without params take no arguments', () => {
  const lobby = defineChannel<void, string>('lobby')
  expectTypeOf(lobby()).toExtend<ChannelKey<string>>()
})

test('a subscription exposes its state; the client its status and refusal', () => {
  const subscription = client.subscribe(['chat'], () => {}, { rewind: 20 })
  expectTypeOf(subscription.state.getSnapshot().status).toEqualTypeOf<SubscriptionStatus>()
  expectTypeOf(subscription.state.getSnapshot().error).toEqualTypeOf<RealtimeError | undefined>()
  expectTypeOf(client.status.getSnapshot()).toEqualTypeOf<
    'connecting' | 'connected' | 'reconnecting' | 'refused' | 'disconnected'
  >()
  expectTypeOf(client.error).toEqualTypeOf<RealtimeError | undefined>()
})

/** A chat whose clients publish `{ text }` and whose server's onPublish makes the message. */
const chat = defineChannel('chat', {
  params: z.object({ roomId: z.string() }),
  publish: z.object({ text: z.string().max(500) }),
  message: z.object({ text: z.string(), from: z.string(), at: z.number() }),
})
type ChatMessage = { text: string; from: string; at: number }
const cursors = presenceChannel('cursors', {
  params: v.object({ documentId: v.string() }),
  state: v.object({ x: v.number(), y: v.number() }),
})

test('a definition with schemas infers its params, message (output) and publish (input) types', () => {
  type Chat = ReturnType<typeof chat>
  expectTypeOf(chat).parameters.toEqualTypeOf<[params: { roomId: string }]>()
  expectTypeOf<MessageOf<Chat>>().toEqualTypeOf<ChatMessage>()
  expectTypeOf<PublishOf<Chat>>().toEqualTypeOf<{ text: string }>()
  client.subscribe(chat({ roomId: '1' }), (msg) => expectTypeOf(msg).toEqualTypeOf<ChatMessage>())
  client.publish(chat({ roomId: '1' }), { text: 'hi' })
  // @ts-expect-error what clients publish is not the message
  client.publish(chat({ roomId: '1' }), { from: 'me', at: 1 })
  // @ts-expect-error params are typed by their schema
  chat({ roomId: 1 })

  // Only a message schema: publishers give its input (a default is optional), subscribers get its output.
  const notes = defineChannel('notes', { message: z.object({ text: z.string(), tag: z.string().default('none') }) })
  expectTypeOf(notes).parameters.toEqualTypeOf<[]>()
  expectTypeOf<MessageOf<ReturnType<typeof notes>>>().toEqualTypeOf<{ text: string; tag: string }>()
  expectTypeOf<PublishOf<ReturnType<typeof notes>>>().toEqualTypeOf<{ text: string; tag?: string | undefined }>()
  client.publish(notes(), { text: 'no tag' })
  // @ts-expect-error text is required
  client.publish(notes(), { tag: 'x' })
})

test('a presence definition with a state schema types its state', () => {
  expectTypeOf<PresenceStateOf<ReturnType<typeof cursors>>>().toEqualTypeOf<{ x: number; y: number }>()
  const presence = getPresence(client, cursors({ documentId: 'd' }))
  presence.update({ x: 1 })
  // @ts-expect-error x is a number
  presence.update({ x: 'left' })
})

test('adapters publish what the channel takes', () => {
  const react = useReactPublish(chat({ roomId: '1' }))
  expectTypeOf(react).parameter(0).toEqualTypeOf<{ text: string }>()
  const vue = useVuePublish(() => chat({ roomId: '1' }))
  expectTypeOf(vue).parameter(0).toEqualTypeOf<{ text: string }>()
  // @ts-expect-error the message is not what clients publish
  react({ text: 'hi', from: 'me', at: 1 })
})

test("onPublish receives the checking schema's output", () => {
  const dated = defineChannel('dated', {
    publish: z.object({ text: z.string(), at: z.string().transform((text) => new Date(text)) }),
    message: z.object({ text: z.string(), at: z.number() }),
  })
  expectTypeOf<PublishOf<ReturnType<typeof dated>>>().toEqualTypeOf<{ text: string; at: string }>()
  defineServerChannel(dated, {
    onPublish: ({ data }) => {
      expectTypeOf(data).toEqualTypeOf<{ text: string; at: Date }>()
      return { text: data.text, at: data.at.getTime() }
    },
  })
})

test('defineServerChannel types its hooks from the definition', () => {
  defineServerChannel(chat, {
    onPublish: ({ data, params, userId }) => {
      expectTypeOf(data).toEqualTypeOf<{ text: string }>()
      expectTypeOf(params).toEqualTypeOf<{ roomId: string }>()
      return data.text ? { text: data.text, from: userId, at: 0 } : DROP
    },
  })
  defineServerChannel(chat, {
    // @ts-expect-error the message needs from and at
    onPublish: ({ data }) => ({ text: data.text }),
  })
  defineServerChannel<typeof cursors, { name: string }>(cursors, {
    onJoin: ({ state, identity, rejoin }) => {
      expectTypeOf(state).toEqualTypeOf<{ x: number; y: number }>()
      expectTypeOf(identity).toEqualTypeOf<{ name: string }>()
      expectTypeOf(rejoin).toEqualTypeOf<boolean>()
      return rejoin ? undefined : { x: 0, y: 0 }
    },
    onUpdate: ({ patch }) => {
      expectTypeOf(patch).toEqualTypeOf<Partial<{ x: number; y: number }>>()
    },
    onLeave: ({ identity, state }) => {
      expectTypeOf(identity).toEqualTypeOf<{ name: string } | undefined>()
      expectTypeOf(state).toEqualTypeOf<{ x: number; y: number }>()
    },
  })
  // @ts-expect-error onJoin returns a state of the schema's type
  defineServerChannel(cursors, { onJoin: () => ({ x: 'left', y: 0 }) })
})

test("the Node server's reads are typed by the channel", () => {
  const realtime = createNodeServer({ getAuthToken: () => 'alice', channels: [chat, defineServerChannel(cursors, {})] })
  expectTypeOf(realtime.getHistory(chat({ roomId: '1' }))).toEqualTypeOf<Promise<HistoryMessage<ChatMessage>[]>>()
  expectTypeOf(realtime.getPresence(cursors({ documentId: 'd' }))).toEqualTypeOf<
    Promise<PresenceMember<{ x: number; y: number }>[]>
  >()
  expectTypeOf(realtime.getHistory(['raw'])).toEqualTypeOf<Promise<HistoryMessage<unknown>[]>>()
})
