import { mkdirSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from '../../support/browser.js'
import { type Demo, startExample } from '../../support/start-example.js'

let browser: Browser
let demo: Demo

beforeAll(async () => {
  demo = await startExample('basic')
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await demo?.stop()
})

const statusOf = (page: Page) => page.getAttribute('#status', 'data-status')

test('two tabs chat, see each other online, and reconnect after a server restart', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } })
  const errors: string[] = []
  const [first, second] = await Promise.all([context.newPage(), context.newPage()])
  for (const page of [first, second]) {
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(demo.origin)
    await page.waitForSelector('#status[data-status="connected"]')
  }
  // Each tab is its own user, and both are online.
  await first.waitForFunction(() => document.querySelectorAll('#online li').length === 2)
  await second.waitForFunction(() => document.querySelectorAll('#online li').length === 2)
  const secondName = await second.evaluate(() => sessionStorage.getItem('name'))
  expect(await first.textContent('#online')).toContain(secondName)

  await second.fill('#text', 'Hello from the second tab')
  await second.press('#text', 'Enter')
  await first.waitForFunction(() =>
    document.querySelector('#messages')?.textContent?.includes('Hello from the second tab'),
  )
  expect(await first.textContent('#messages li')).toBe(`${secondName}Hello from the second tab`)

  mkdirSync('test-results', { recursive: true })
  const screenshot = await first.screenshot({ path: 'test-results/basic-demo.png' })
  expect(screenshot.length).toBeGreaterThan(10_000) // a rendered page, not a blank one

  await demo.stop()
  await first.waitForSelector('#status[data-status="reconnecting"]')
  demo = await startExample('basic', demo.port)
  for (const page of [first, second]) await page.waitForSelector('#status[data-status="connected"]')
  expect(await statusOf(first)).toBe('connected')
  // Presence was re-entered on the new server.
  await first.waitForFunction(() => document.querySelectorAll('#online li').length === 2)
  await first.fill('#text', 'After the restart')
  await first.press('#text', 'Enter')
  await second.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('After the restart'))
  expect(errors).toEqual([])
  await context.close()
})
