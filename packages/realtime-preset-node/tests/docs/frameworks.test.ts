import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidChannelKeyError } from '@tanstack/realtime'
import { afterAll, expect, test } from 'vitest'
import { closeClients, eventually, makeClient, recordStatuses } from '../helpers.js'

// The snippets listen on PORT (and PUBLISH_PORT): free ports here.
process.env.PORT = '0'
process.env.PUBLISH_PORT = '0'

afterAll(closeClients)

async function portOf(server: Server) {
  if (!server.listening) await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** A client subscribed to `announcements`, a POST to the snippet's route, and the message it gets. */
async function announcementReachesClients(port: number) {
  const client = makeClient({ url: `ws://127.0.0.1:${port}` }, 'ada')
  const got: unknown[] = []
  await client.subscribe(['announcements'], (message) => got.push(message)).ready
  const response = await fetch(`http://127.0.0.1:${port}/api/announcements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Release at 5' }),
  })
  expect(response.status).toBe(200)
  expect(await response.json()).toEqual({ seq: 1 })
  await eventually(() => expect(got).toEqual([{ text: 'Release at 5' }]))
  expect(client.userId).toBe('ada')
  return client
}

test('Fastify: the upgrade reaches the realtime server, a route publishes, close() closes both', async () => {
  const { app, realtime } = await import('./fastify.js')
  const client = await announcementReachesClients(await portOf(app.server))
  const codes = recordStatuses(client)
  await app.close()
  // The preClose hook closed the realtime server, which closed the client's socket (1001: it reconnects).
  expect(realtime.server.stats().connections).toBe(0)
  expect(codes).toContain('reconnecting')
})

/** Closes a snippet's realtime server, then its HTTP server. */
async function closeBoth(realtime: { close(): Promise<void> }, httpServer: Server) {
  await realtime.close()
  httpServer.closeAllConnections()
  await new Promise((resolve) => httpServer.close(resolve))
}

test.each([
  ['Express', () => import('./express.js')],
  ['Hono on @hono/node-server', () => import('./hono.js')],
])('%s: the upgrade reaches the realtime server, a route publishes', async (_name, load) => {
  const { httpServer, realtime } = await load()
  try {
    await announcementReachesClients(await portOf(httpServer))
  } finally {
    await closeBoth(realtime, httpServer)
  }
})

test("TanStack Start's companion server: WebSocket endpoint, and publish over its private port", async () => {
  const { httpServer, publishServer, realtime } = await import('./start-realtime-server.js')
  const { publish } = await import('./start-publish.js')
  try {
    const port = await portOf(httpServer)
    // The Start app's helper reads PUBLISH_PORT when it publishes.
    process.env.PUBLISH_PORT = String(await portOf(publishServer))
    expect((publishServer.address() as AddressInfo).address).toBe('127.0.0.1')
    const client = makeClient({ url: `ws://127.0.0.1:${port}` }, 'ada')
    const got: unknown[] = []
    await client.subscribe(['todos', { teamId: '1' }], (message) => got.push(message)).ready
    expect(await publish(['todos', { teamId: '1' }], { type: 'created' })).toEqual({
      seq: 1,
      epoch: expect.any(String),
    })
    await eventually(() => expect(got).toEqual([{ type: 'created' }]))
    // A publish the server rejects is an error in the Start app too.
    await expect(publish([''], 1)).rejects.toThrow(InvalidChannelKeyError.name)
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404)
  } finally {
    await closeBoth(realtime, httpServer)
    await new Promise((resolve) => publishServer.close(resolve))
  }
})
