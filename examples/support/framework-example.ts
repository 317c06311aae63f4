import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from './browser.js'
import { type Demo, startExample } from './start-example.js'

/**
 * The end-to-end test of the Vue, Solid and Svelte examples (their builds, served by the demo's
 * server): two pages in Chromium, a chat message crosses, each sees the other online, a todo syncs.
 */
export function testFrameworkExample(example: 'vue' | 'solid' | 'svelte') {
  let browser: Browser
  let server: Demo
  const dataDir = mkdtempSync(join(tmpdir(), `realtime-${example}-`))

  beforeAll(async () => {
    if (!existsSync(new URL(`../${example}/dist/index.html`, import.meta.url))) {
      throw new Error(`examples/${example} is not built: run \`npm run build:examples\``)
    }
    server = await startExample(example, 0, { DEMO_DATA_FILE: join(dataDir, 'todos.json') })
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const nameOf = (page: Page) => page.evaluate(() => sessionStorage.getItem('demo-name') ?? '')
  const shows = (page: Page, testId: string, text: string) =>
    page.waitForFunction(
      ([id, expected]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(expected),
      [testId, text] as const,
    )

  test(`two pages of the ${example} example chat, see each other online and share a todo`, async () => {
    const context = await browser.newContext()
    const errors: string[] = []
    const [alice, bob] = [await context.newPage(), await context.newPage()]
    for (const page of [alice, bob]) {
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(server.origin)
      await page.waitForSelector('[data-testid="status"][data-status="connected"]')
    }

    // Presence: each page lists the other's user.
    await shows(alice, 'names', await nameOf(bob))
    await shows(bob, 'names', await nameOf(alice))

    // Chat: typed in one page, shown in the other.
    await bob.fill('input[name="text"]', 'Hello from Bob')
    await bob.press('input[name="text"]', 'Enter')
    await shows(alice, 'messages', 'Hello from Bob')

    // Todos: added in one page (optimistically at once), synced to the other.
    await alice.fill('input[name="title"]', `Ship the ${example} example`)
    await alice.press('input[name="title"]', 'Enter')
    await shows(bob, 'todos', `Ship the ${example} example`)
    expect(await bob.locator('[data-testid="todos"] .title').allTextContents()).toEqual([`Ship the ${example} example`])

    expect(errors).toEqual([])
    await context.close()
  })
}
