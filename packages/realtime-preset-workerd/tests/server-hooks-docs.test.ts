import { fileURLToPath } from 'node:url'
import { createRealtimeClient, getPresence, type RealtimeClient, ValidationError } from '@tanstack/realtime'
import { workerdTransport } from '@tanstack/realtime-preset-workerd'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { eventually } from '../../realtime/tests/support/helpers.js'
import { chat, cursors } from './fixtures/channels.js'
import { bundleWorker, httpRequest, startWorkerd } from './support/workerd.js'

// The Workers snippets of docs/server-hooks.md (tests/fixtures/hooks-worker.ts), in workerd.
let worker: Awaited<ReturnType<typeof startWorkerd>>
const clients: RealtimeClient[] = []

beforeAll(async () => {
  worker = await startWorkerd(await bundleWorker(fileURLToPath(new URL('fixtures/hooks-worker.ts', import.meta.url))))
})

afterAll(async () => {
  for (const client of clients) client.disconnect()
  await worker?.mf.dispose()
})

const connect = (token: string) => {
  const client = createRealtimeClient({
    transport: workerdTransport({ url: worker.url, getAuthToken: () => token, WebSocket: WebSocket as never }),
    requestTimeoutMs: 5000,
  })
  clients.push(client)
  return client
}

test('the guide’s RealtimeChannel checks the schemas and stamps the author; its API route reads the channels', async () => {
  const [ada, mallory] = [connect('ada'), connect('mallory')]
  const got: unknown[] = []
  const lobby = chat({ roomId: 'lobby' })
  await ada.subscribe(lobby, (message) => got.push(message)).ready
  await getPresence(ada, cursors({ boardId: 'main' })).enter({ name: 'Ada', cursor: null }).ready

  // A raw key: no check before sending, a claimed author and time, and a too long text.
  const raw = ['chat', { roomId: 'lobby' }] as const
  expect((await mallory.publish(raw, { id: '1', text: ' hi ', from: 'ada', at: 0 })).seq).toBe(1)
  await eventually(() => expect(got).toEqual([{ id: '1', text: 'hi', from: 'mallory', at: expect.any(Number) }]))
  expect((got[0] as { at: number }).at).toBeGreaterThan(0)
  const refused = await mallory.publish(raw, { id: '2', text: 'x'.repeat(501) }).catch((error: unknown) => error)
  expect(refused).toBeInstanceOf(ValidationError)
  expect((refused as ValidationError).issues).toMatchObject([{ path: ['text'] }])
  // The cursors' state schema, without hooks: the definition's key is checked by the client at once,
  // a raw key by the object.
  const tooLong = { name: 'm'.repeat(41), cursor: null }
  expect(() => getPresence(mallory, cursors({ boardId: 'main' })).enter(tooLong)).toThrow(ValidationError)
  const bad = getPresence(connect('mallory'), ['cursors', { boardId: 'main' }]).enter(tooLong)
  await expect(bad.ready).rejects.toThrow(ValidationError)

  const summary = await httpRequest(`http://127.0.0.1:${worker.port}/lobby`)
  expect(summary.json()).toEqual({ online: ['Ada'], messages: ['mallory: hi'] })
})
