// chat.test.ts
import { ForbiddenError, getPresence } from '@tanstack/realtime'
import { startTestServer, type TestServer } from '@tanstack/realtime-preset-node/testing'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'

let server: TestServer<string>

beforeEach(async () => {
  server = await startTestServer({
    // Your app's own rules; the token each test client sends is its user id.
    authorize: (userId, [name]) => {
      if (name === 'chat') return { subscribe: true, publish: true, presence: true }
      if (name === 'admin') return userId === 'root' ? { subscribe: true, publish: true } : null
      return null
    },
  })
})

afterEach(() => server.close())

test('a message from one user reaches another', async () => {
  const alice = server.client({ token: 'alice' })
  const bob = server.client({ token: 'bob' })
  const onMessage = vi.fn()
  await bob.subscribe(['chat', { roomId: '1' }], onMessage).ready

  await alice.publish(['chat', { roomId: '1' }], { text: 'Hi Bob' })

  await vi.waitFor(() => expect(onMessage).toHaveBeenCalledWith({ text: 'Hi Bob' }, expect.anything()))
})

test('server-side publish reaches subscribers', async () => {
  const bob = server.client({ token: 'bob' })
  const onMessage = vi.fn()
  await bob.subscribe(['chat', { roomId: '1' }], onMessage).ready

  await server.publish(['chat', { roomId: '1' }], { text: 'Deploy finished' })

  await vi.waitFor(() => expect(onMessage).toHaveBeenCalledTimes(1))
})

test('users see each other in presence', async () => {
  const alice = server.client({ token: 'alice' })
  const bob = server.client({ token: 'bob' })
  await getPresence(alice, ['chat', { roomId: '1' }]).enter({ typing: false }).ready
  const room = getPresence(bob, ['chat', { roomId: '1' }])
  await room.enter({ typing: false }).ready

  expect(room.getSnapshot().others.map((member) => member.userId)).toEqual(['alice'])
})

test('a user without permission is refused', async () => {
  const alice = server.client({ token: 'alice' })
  await expect(alice.publish(['admin'], { text: 'sudo' })).rejects.toThrow(ForbiddenError)
})
