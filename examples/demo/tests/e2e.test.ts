import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRealtimeClient, ValidationError } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from '../../support/browser.js'
import { type Demo, startExample } from '../../support/start-example.js'

let browser: Browser
let demo: Demo
const dataDir = mkdtempSync(join(tmpdir(), 'realtime-demo-'))
const env = { DEMO_DATA_FILE: join(dataDir, 'todos.json') }

beforeAll(async () => {
  demo = await startExample('demo', 0, env)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await demo?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const todoTitles = (page: Page) => page.locator('[data-testid="todos"] .title').allTextContents()
const nameOf = (page: Page) => page.evaluate(() => sessionStorage.getItem('demo-name') ?? '')
const connected = (page: Page) => page.waitForSelector('[data-testid="status"][data-status="connected"]')

test('two people chat, see each other’s cursors, and share todos that survive reloads and restarts', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 720 } })
  const errors: string[] = []
  const [alice, bob] = [await context.newPage(), await context.newPage()]
  for (const page of [alice, bob]) {
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(demo.origin)
    await connected(page)
  }
  const [aliceName, bobName] = [await nameOf(alice), await nameOf(bob)]
  expect(aliceName).not.toBe('')
  await alice.waitForFunction(() => document.querySelector('.online')?.textContent === '2 online')

  // Chat: typed in one page, shown in the other.
  await bob.fill('input[name="text"]', 'Hello from Bob')
  await bob.press('input[name="text"]', 'Enter')
  await alice.waitForFunction(() =>
    document.querySelector('[data-testid="messages"]')?.textContent?.includes('Hello from Bob'),
  )
  expect(await alice.locator('[data-testid="messages"] li .from').last().textContent()).toBe(bobName)

  // Cursors: Bob's pointer appears on Alice's page with his name, and follows his moves.
  await bob.bringToFront()
  await bob.mouse.move(300, 300)
  await bob.mouse.move(320, 310)
  const cursor = alice.locator(`.cursor[data-user="${bobName}"]`)
  await cursor.waitFor()
  const firstLeft = await cursor.evaluate((element) => (element as HTMLElement).style.left)
  await bob.mouse.move(800, 500)
  await bob.mouse.move(820, 520)
  await alice.waitForFunction(
    ([name, left]) => {
      const element = document.querySelector(`.cursor[data-user="${name}"]`) as HTMLElement | null
      return element !== null && element.style.left !== left
    },
    [bobName, firstLeft] as const,
  )

  // Todos: added in one page, shown in the other, kept across a reload.
  await alice.bringToFront()
  await alice.fill('input[name="title"]', 'Ship the demo')
  await alice.press('input[name="title"]', 'Enter')
  await alice.fill('input[name="title"]', 'Write the docs')
  await alice.press('input[name="title"]', 'Enter')
  await bob.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 2)
  expect(await todoTitles(bob)).toEqual(['Ship the demo', 'Write the docs'])
  await bob.locator('[data-testid="todos"] li input[type="checkbox"]').first().check()
  await alice.waitForSelector('[data-testid="todos"] li.done')
  await bob.reload()
  await connected(bob)
  // The unloading page said goodbye (close code 1001): the old tab left at once, no ghost for the grace period.
  await alice.waitForFunction(() => document.querySelector('.online')?.textContent === '2 online')
  await bob.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 2)
  expect(await nameOf(bob)).toBe(bobName) // a reload keeps the tab's user

  mkdirSync('test-results', { recursive: true })
  await alice.screenshot({ path: 'test-results/demo.png' })
  expect(readFileSync('test-results/demo.png').length).toBeGreaterThan(20_000) // a rendered page, not a blank one

  // The server goes away: both pages say so, then recover with every todo.
  await demo.stop()
  for (const page of [alice, bob]) await page.waitForSelector('[data-testid="status"][data-status="reconnecting"]')
  demo = await startExample('demo', demo.port, env)
  for (const page of [alice, bob]) await connected(page)
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="todos"] li').length === 2)
    expect(await todoTitles(page)).toEqual(['Ship the demo', 'Write the docs'])
  }
  expect(await alice.locator('[data-testid="todos"] li.done .title').allTextContents()).toEqual(['Ship the demo'])
  expect(errors).toEqual([])
  await context.close()
})

test('a newly opened tab shows the chat’s recent messages', async () => {
  const browserContext = await browser.newContext()
  const first = await browserContext.newPage()
  await first.goto(demo.origin)
  await connected(first)
  await first.fill('input[name="text"]', 'Anyone here?')
  await first.press('input[name="text"]', 'Enter')
  await first.waitForFunction(() =>
    document.querySelector('[data-testid="messages"]')?.textContent?.includes('Anyone here?'),
  )
  const late = await browserContext.newPage()
  await late.goto(demo.origin)
  await late.waitForSelector('[data-testid="messages"][data-status="live"]')
  const texts = await late.locator('[data-testid="messages"] li .text').allTextContents()
  expect(texts.at(-1)).toBe('Anyone here?')
  expect(new Set(texts).size).toBe(texts.length) // each once
  await browserContext.close()
})

test('the server signs each message with its verified author and time; a too long one is not sent', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const sent: string[] = []
  page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => sent.push(String(payload))))
  await page.goto(demo.origin)
  await page.waitForSelector('[data-testid="messages"][data-status="live"]')
  const name = await nameOf(page)

  // Eve skips the app: a raw key (no check before sending), claiming to be the page's user, at time 0.
  const eve = createRealtimeClient({ transport: nodeTransport({ url: demo.origin, getAuthToken: () => 'Eve' }) })
  const lobby = ['chat', { roomId: 'lobby' }] as const
  try {
    const forged = { id: 'forged', text: 'Signed by someone else', from: name, at: 0 }
    expect((await eve.publish(lobby, forged)).seq).toBeGreaterThan(0)
    // The server runs the same schema: what the page would refuse, it refuses too, saying where.
    const refused = await eve.publish(lobby, { id: 'long', text: 'x'.repeat(501) }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ValidationError)
    expect((refused as ValidationError).issues).toEqual([
      { path: ['text'], message: 'A message has at most 500 characters.' },
    ])
  } finally {
    eve.disconnect()
  }
  // The schema dropped the claimed author and time; the server's onPublish set its own.
  const shown = page.locator('[data-testid="messages"] li', { hasText: 'Signed by someone else' })
  await shown.waitFor()
  expect(await shown.locator('.from').textContent()).toBe('Eve')
  expect(Date.parse((await shown.locator('time').getAttribute('datetime')) ?? '')).toBeGreaterThan(0)

  // Over 500 characters: the page's check (the shared schema) refuses it before sending, and shows why.
  await page.fill('input[name="text"]', 'x'.repeat(501))
  await page.press('input[name="text"]', 'Enter')
  await page.waitForSelector('.chat .error')
  expect(await page.textContent('.chat .error')).toBe('Not sent: A message has at most 500 characters.')
  expect(await page.inputValue('input[name="text"]')).toHaveLength(501) // kept, to shorten
  // A shorter one goes through and clears the error.
  await page.fill('input[name="text"]', 'Short enough')
  await page.press('input[name="text"]', 'Enter')
  const mine = page.locator('[data-testid="messages"] li.mine', { hasText: 'Short enough' })
  await mine.waitFor()
  expect(await mine.locator('.from').textContent()).toBe(name)
  expect(await page.locator('.chat .error').count()).toBe(0)
  // The long one never left the page: the only publish it sent is the short one, sent after it.
  expect(sent.filter((frame) => frame.includes('"t":"pub"')).map((frame) => JSON.parse(frame).data.text)).toEqual([
    'Short enough',
  ])
  await context.close()
})
