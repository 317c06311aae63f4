import { readFileSync } from 'node:fs'
import { getPresence, type PublishOf, type SchemaIssue, ValidationError } from '@tanstack/realtime'
import { afterAll, expect, expectTypeOf, test } from 'vitest'
import { closeClients, eventually, makeClient, rawClient } from '../helpers.js'

// The guide's server listens on PORT: a free port here.
process.env.PORT = '0'
const guide = await import('../fixtures/server-hooks/server.js')
const app = await import('../fixtures/server-hooks/app-setup.js')
const { send } = await import('../fixtures/server-hooks/send.js')
const { chat, cursors } = await import('../fixtures/server-hooks/channels.js')
const server = { url: `ws://127.0.0.1:${app.port}` }
const lobby = ['chat', { roomId: 'lobby' }] as const

afterAll(async () => {
  app.client.disconnect()
  closeClients()
  await guide.realtime.close()
  guide.httpServer.closeAllConnections()
  await new Promise((resolve) => guide.httpServer.close(resolve))
})

/** What `send` and a raw publish fail with. */
const issuesOf = (promise: Promise<unknown>) =>
  promise.then(
    () => [],
    (error: unknown) => {
      if (error instanceof ValidationError) return error.issues
      throw error
    },
  )
const tooLong: SchemaIssue[] = [{ path: ['text'], message: 'Too big: expected string to have <=500 characters' }]

test('the author and the time are the server’s, whatever a client claims', async () => {
  // A raw key: no check before sending, and a payload claiming another author and time.
  const mallory = makeClient(server, 'mallory')
  const { seq } = await mallory.publish(lobby, { id: 'm1', text: '  hi from mallory  ', from: 'ada', at: 0 })
  expect(seq).toBeGreaterThan(0)
  await eventually(() => expect(app.shown).toContain('dated mallory: hi from mallory'))
  expect(await send('hello from ada')).toEqual([])
  await eventually(() => expect(app.shown.at(-1)).toBe('dated ada: hello from ada'))
})

test('a payload the schema refuses: the app’s check and the server’s answer carry the same issues', async () => {
  const before = await guide.realtime.getHistory(chat({ roomId: 'lobby' }))
  expect(await send('x'.repeat(501))).toEqual(tooLong)
  expect(await send('   ')).toEqual([{ path: ['text'], message: 'Too small: expected string to have >=1 characters' }])
  // A client that skips the check gets the server's answer.
  const raw = makeClient(server, 'mallory')
  expect(await issuesOf(raw.publish(lobby, { id: 'm2', text: 'x'.repeat(501) }))).toEqual(tooLong)
  expect(await issuesOf(raw.publish(['chat', { roomId: 7 }], { id: 'm3', text: 'hi' }))).toEqual([
    { path: ['roomId'], message: 'Invalid input: expected string, received number' },
  ])
  await expect(raw.subscribe(['chat', { roomId: 7 }], () => {}).ready).rejects.toThrow(ValidationError)
  // Then a valid one (the barrier): it is the only message added since.
  expect(await send('valid')).toEqual([])
  const after = await guide.realtime.getHistory(chat({ roomId: 'lobby' }))
  expect(after.slice(before.length).map(({ data }) => data.text)).toEqual(['valid'])
})

test('onPublish refuses with a typed error, and drops a muted user’s messages without telling them', async () => {
  expect(await send('see https://example.com')).toEqual([{ path: ['text'], message: 'Links are not allowed' }])
  const eve = makeClient(server, 'eve')
  expect(await eve.publish(chat({ roomId: 'lobby' }), { id: 'e1', text: 'nobody hears this' })).toEqual({ seq: 0 })
  expect(await send('after eve')).toEqual([])
  await eventually(() => expect(app.shown.at(-1)).toBe('dated ada: after eve'))
  expect(app.shown.join('\n')).not.toContain('nobody hears this')
})

test('presence: others see the name the server knows; onLeave records the leave', async () => {
  const board = cursors({ boardId: 'main' })
  const ada = getPresence(app.client, board)
  await ada.enter({ name: 'Someone else', cursor: null }).ready
  const bob = getPresence(makeClient(server, 'bob'), board)
  const bobLeaves = bob.enter({ name: 'bob', cursor: null })
  await bobLeaves.ready
  const adaAsBobSees = () => bob.getSnapshot().others.find((member) => member.userId === 'ada')?.state
  expect(adaAsBobSees()).toEqual({ name: 'Ada Lovelace', cursor: null })
  // The member's own snapshot shows the name the server set once its join is answered.
  expect(ada.getSnapshot().self?.state).toEqual({ name: 'Ada Lovelace', cursor: null })
  // An update keeps the name the server set, for the others and, once answered, for the member itself.
  ada.update({ name: 'Mallory', cursor: { x: 1, y: 2 } })
  expect(ada.getSnapshot().self?.state).toEqual({ name: 'Mallory', cursor: { x: 1, y: 2 } }) // at once, locally
  await eventually(() => expect(adaAsBobSees()).toEqual({ name: 'Ada Lovelace', cursor: { x: 1, y: 2 } }))
  await eventually(() =>
    expect(ada.getSnapshot().self?.state).toEqual({ name: 'Ada Lovelace', cursor: { x: 1, y: 2 } }),
  )
  // A state the schema refuses: the definition's key is refused by the client at once; a raw key's
  // join is refused by the server with the issues.
  const tooLong = { name: 'c'.repeat(41), cursor: null }
  expect(() => getPresence(makeClient(server, 'dave'), board).enter(tooLong)).toThrow(ValidationError)
  const carol = getPresence(makeClient(server, 'carol'), ['cursors', { boardId: 'main' }])
  await expect(carol.enter(tooLong).ready).rejects.toThrow(ValidationError)
  expect(carol.getSnapshot()).toMatchObject({ status: 'error', error: { issues: [{ path: ['name'] }] } })

  const summary = await guide.lobbySummary()
  expect(summary.online).toEqual(['Ada Lovelace', 'bob'])
  expect(summary.messages).toContain('mallory: hi from mallory')
  expect(summary.messages.at(-1)).toBe('ada: after eve')

  bobLeaves()
  await eventually(() => expect(guide.lastSeen.has('main/bob')).toBe(true))
  expect((await guide.realtime.getPresence(board)).map(({ userId }) => userId)).toEqual(['ada'])
})

test('the valibot chat types and checks like the zod one', async () => {
  const valibot = await import('../fixtures/server-hooks/channels-valibot.js')
  expectTypeOf<PublishOf<ReturnType<typeof valibot.chat>>>().toEqualTypeOf<PublishOf<ReturnType<typeof chat>>>()
  const validate = (definition: typeof chat | typeof valibot.chat, value: unknown) =>
    definition.schemas?.publish?.['~standard'].validate(value)
  for (const value of [
    { id: '1', text: '  hi ', from: 'x' },
    { id: '1', text: ' ' },
    { id: 1, text: 'hi' },
  ]) {
    const [zod, other] = [validate(chat, value), validate(valibot.chat, value)] as { value?: unknown; issues?: [] }[]
    expect(other?.issues?.length, JSON.stringify(value)).toEqual(zod?.issues?.length)
    if (!zod?.issues) expect(other?.value, JSON.stringify(value)).toEqual(zod?.value)
  }
  // Its keys are the zod chat's channel: the client checks with valibot, the server with zod.
  expect(
    await issuesOf(app.client.publish(valibot.chat({ roomId: 'lobby' }), { id: 'v1', text: 'x'.repeat(501) })),
  ).toMatchObject([{ path: ['text'] }])
  expect(
    await issuesOf(app.client.publish(valibot.chat({ roomId: 'lobby' }), { id: 'v2', text: 'from valibot' })),
  ).toEqual([])
})

test('docs/protocol.md: the err frame of a payload the schema refused, as the guide’s server answers it', async () => {
  const protocol = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8')
  const [, request = '', answer = ''] = /```text\n→ (.*)\n← (.*"issues".*)\n```/.exec(protocol) ?? []
  const socket = await rawClient(server.url, 'ada')
  try {
    expect(await socket.request(JSON.parse(request))).toEqual(JSON.parse(answer))
  } finally {
    socket.ws.close()
  }
})
