import { ForbiddenError } from '@tanstack/realtime'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Demo, startExample } from '../../support/start-example.js'
import { twoUsersChat } from '../../support/two-users.js'

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

test('two users chat and see each other online through the demo server', () =>
  twoUsersChat(origin, {
    // The demo only allows its chat channel.
    after: (ada) => expect(ada.publish(['admin'], 'x')).rejects.toThrow(ForbiddenError),
  }))
