import { afterEach, expect, test } from 'vitest'
import { eventually } from '../../realtime/tests/support/helpers.js'
import { workerdHarness } from './support/workerd.js'

let stop: (() => Promise<void>) | undefined
afterEach(async () => {
  workerdHarness.closeClients()
  await stop?.()
})

test('200 sockets on one channel all receive a broadcast, once, in order', async () => {
  const server = await workerdHarness.start()
  stop = () => server.stop()
  const count = 200
  const received = Array.from({ length: count }, () => [] as unknown[])
  const clients = Array.from({ length: count }, (_, i) => server.client(`user-${i}`))
  await Promise.all(clients.map((client, i) => client.subscribe(['stadium'], (m) => received[i]?.push(m)).ready))
  expect(await server.subscriberCount(['stadium'])).toBe(count)

  await server.publish(['stadium'], { goal: 1 })
  await clients[0]?.publish(['stadium'], { goal: 2 })
  await eventually(() => {
    for (const messages of received) expect(messages).toEqual([{ goal: 1 }, { goal: 2 }])
  }, 10_000)
}, 30_000)
