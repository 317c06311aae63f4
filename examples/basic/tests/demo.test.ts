import { createRealtimeClient, ForbiddenError, getPresence } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { eventually } from '../../../packages/realtime-preset-node/tests/helpers.js'
import { type Demo, startExample } from '../../support/start-example.js'

let demo: Demo
let origin: string

beforeAll(async () => {
  demo = await startExample('basic')
  origin = demo.origin
})

afterAll(() => demo.stop())

test('the demo serves the page and the packages as browser modules', async () => {
  const page = await fetch(origin)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('"@tanstack/realtime": "/_pkg/realtime/index.js"')
  for (const path of ['/app.js', '/style.css', '/_pkg/realtime/index.js', '/_pkg/realtime-preset-node/browser.js']) {
    expect((await fetch(`${origin}${path}`)).status, path).toBe(200)
  }
  expect((await fetch(`${origin}/_pkg/realtime/..%2F..%2F..%2Fpackage.json`)).status).toBe(404)
  expect((await fetch(`${origin}/nope`)).status).toBe(404)
})

test('two users chat and see each other online through the demo server', async () => {
  const connect = (name: string) =>
    createRealtimeClient({ transport: nodeTransport({ url: origin, getAuthToken: () => name }) })
  const ada = connect('Ada')
  const bob = connect('Bob')
  try {
    const room = ['chat', { roomId: 'lobby' }] as const
    const got: unknown[] = []
    await bob.subscribe(room, (message) => got.push(message)).ready
    await ada.publish(room, { from: 'Ada', text: 'hello' })
    await eventually(() => expect(got).toEqual([{ from: 'Ada', text: 'hello' }]))

    await getPresence(ada, room).enter({ name: 'Ada' }).ready
    const bobPresence = getPresence(bob, room)
    await bobPresence.enter({ name: 'Bob' }).ready
    expect(bobPresence.getSnapshot().others.map((member) => member.state)).toEqual([{ name: 'Ada' }])
    // The demo only allows its chat channel.
    await expect(ada.publish(['admin'], 'x')).rejects.toThrow(ForbiddenError)
  } finally {
    ada.disconnect()
    bob.disconnect()
  }
})
