import { createRealtimeClient, InvalidOptionsError } from '@tanstack/realtime'
import { workerdTransport } from '@tanstack/realtime-preset-workerd'
import { afterEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { eventually } from '../../realtime/tests/support/helpers.js'
import { type HarnessServer, workerdHarness } from './support/workerd.js'

let server: HarnessServer | undefined
const global = globalThis as { location?: { protocol: string; host: string } }
afterEach(async () => {
  delete global.location
  workerdHarness.closeClients()
  await server?.stop()
  server = undefined
})

test("in a browser the Worker's URL comes from window.location", async () => {
  server = await workerdHarness.start()
  global.location = { protocol: 'http:', host: `127.0.0.1:${server.port}` }
  const client = createRealtimeClient({
    transport: workerdTransport({ getAuthToken: () => 'alice', WebSocket: WebSocket as never }),
  })
  try {
    await client.subscribe(['chat'], () => {}).ready
    await expect(client.publish(['chat'], 'hi')).resolves.toEqual({ seq: 1 })
    expect(client.userId).toBe('alice')
  } finally {
    client.disconnect()
  }
})

test('each channel gets its own socket, closed when nothing in the client uses it', async () => {
  server = await workerdHarness.start()
  const client = server.client('alice')
  const unsubscribeA = client.subscribe(['a'], () => {})
  const unsubscribeB = client.subscribe(['b'], () => {})
  await Promise.all([unsubscribeA.ready, unsubscribeB.ready])
  expect(await server.subscriberCount(['a'])).toBe(1)
  expect(await server.subscriberCount(['b'])).toBe(1)
  unsubscribeA()
  await eventually(async () => expect(await server?.subscriberCount(['a'])).toBe(0))
  expect(await server.subscriberCount(['b'])).toBe(1)
  expect(client.status.getSnapshot()).toBe('connected')
})

test('workerdTransport needs a URL outside a browser and a WebSocket implementation', () => {
  expect(() => workerdTransport({ WebSocket: WebSocket as never })).toThrow(InvalidOptionsError)
  expect(() => workerdTransport({ url: 'ftp://example.com', WebSocket: WebSocket as never })).toThrow(
    InvalidOptionsError,
  )
  const original = (globalThis as { WebSocket?: unknown }).WebSocket
  delete (globalThis as { WebSocket?: unknown }).WebSocket
  try {
    expect(() => workerdTransport({ url: 'https://my-worker.example.com' })).toThrow(/WebSocket/)
  } finally {
    if (original) (globalThis as { WebSocket?: unknown }).WebSocket = original
  }
})
