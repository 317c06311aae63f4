import { defineChannel, ValidationError } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import { z } from 'zod'
import { closeClients, eventually, makeClient, startServer, type TestServer } from './helpers.js'

// Where a channel's schema is checked: by the client before sending when the key comes from a
// definition with schemas, by the server for anything else.

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

const chat = defineChannel('chat', {
  params: z.object({ roomId: z.string() }),
  message: z.object({ text: z.string().min(1) }),
})

/** Catches what a promise rejects with. */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

test("a definition's key has its data checked before sending: refused with ValidationError, nothing sent", async () => {
  server = await startServer() // the server has no schema: anything sent would be delivered
  const received: unknown[] = []
  await makeClient(server, 'bob').subscribe(['chat', { roomId: '1' }], (msg) => received.push(msg)).ready
  const alice = makeClient(server, 'alice')
  const error = await rejection(alice.publish(chat({ roomId: '1' }), { text: '' }))
  expect(error).toBeInstanceOf(ValidationError)
  expect((error as ValidationError).issues).toEqual([{ path: ['text'], message: expect.any(String) }])
  // The barrier: the first message the server got.
  expect(await alice.publish(chat({ roomId: '1' }), { text: 'barrier' })).toEqual({ seq: 1 })
  await eventually(() => expect(received).toEqual([{ text: 'barrier' }]))
})

test('a raw key is sent as it is and refused by the server with the issues', async () => {
  server = await startServer({ channels: [chat] })
  const received: unknown[] = []
  await makeClient(server, 'bob').subscribe(chat({ roomId: '1' }), (msg) => received.push(msg)).ready
  const alice = makeClient(server, 'alice')
  const error = await rejection(alice.publish(['chat', { roomId: '1' }], { text: 5 }))
  expect(error).toBeInstanceOf(ValidationError)
  expect((error as ValidationError).issues).toEqual([{ path: ['text'], message: expect.any(String) }])
  expect((error as ValidationError).message).toMatch(/^Invalid message \(the channel's schema\): text: /)
  const params = await rejection(alice.publish(['chat', { roomId: 1 }], { text: 'hi' }))
  expect((params as ValidationError).issues).toEqual([{ path: ['roomId'], message: expect.any(String) }])
  expect(await alice.publish(['chat', { roomId: '1' }], { text: 'barrier' })).toEqual({ seq: 1 })
  await eventually(() => expect(received).toEqual([{ text: 'barrier' }]))
})
