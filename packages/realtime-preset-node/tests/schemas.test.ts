import { defineChannel, getPresence, presenceChannel, ValidationError } from '@tanstack/realtime'
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

const board = presenceChannel('board', { state: z.object({ name: z.string().max(10) }) })

test("a definition's key has its presence state checked before joining or updating: refused at once, nothing sent", async () => {
  server = await startServer() // the server has no schema: a state sent would be shown to others
  const watcher = getPresence(makeClient(server, 'bob'), ['board'])
  await watcher.enter({ name: 'bob' }).ready
  const seen: unknown[] = []
  watcher.subscribe(() => seen.push(...watcher.getSnapshot().others.map(({ state }) => state)))
  const alice = getPresence(makeClient(server, 'alice'), board())
  expect(() => alice.enter({ name: 'a name far too long' })).toThrow(ValidationError)
  expect(alice.getSnapshot().status).toBe('idle') // nothing changed
  await alice.enter({ name: 'alice' }).ready
  let refused: unknown
  try {
    alice.update({ name: 'still far too long' })
  } catch (error) {
    refused = error
  }
  expect((refused as ValidationError).issues).toEqual([{ path: ['name'], message: expect.any(String) }])
  expect(alice.getSnapshot().self?.state).toEqual({ name: 'alice' })
  // The barrier: the next update is the first the others see.
  alice.update({ name: 'ali' })
  await eventually(() => expect(watcher.getSnapshot().others.map(({ state }) => state)).toEqual([{ name: 'ali' }]))
  expect(seen).toContainEqual({ name: 'alice' })
  expect(seen.filter((state) => JSON.stringify(state).includes('far too long'))).toEqual([])
})
