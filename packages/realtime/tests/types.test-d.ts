import {
  type ChannelKey,
  createRealtimeClient,
  defineChannel,
  getPresence,
  type PresenceMember,
  presenceChannel,
  type RealtimeError,
  type RealtimeTransport,
  type SubscriptionStatus,
} from '@tanstack/realtime'
import { expectTypeOf, test } from 'vitest'

declare const transport: RealtimeTransport
const client = createRealtimeClient({ transport })

test('a typed channel carries its message type into subscribe and publish', () => {
  const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
  client.subscribe(chat({ roomId: '1' }), (msg) => {
    expectTypeOf(msg).toEqualTypeOf<{ text: string }>()
  })
  client.publish(chat({ roomId: '1' }), { text: 'hi' })
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
