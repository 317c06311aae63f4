import { afterEach, expect, test } from 'vitest'
import { closeClients, eventually, makeClient, startServer } from './helpers.js'

afterEach(closeClients)

test('two clients exchange messages', async () => {
  const server = await startServer()
  const a = makeClient(server, 'alice')
  const b = makeClient(server, 'bob')
  const got: unknown[] = []
  const sub = b.subscribe(['chat', { roomId: '1' }], (msg) => got.push(msg))
  await sub.ready
  await a.publish(['chat', { roomId: '1' }], 'hi')
  await eventually(() => expect(got).toEqual(['hi']))
  await server.stop()
})
