/**
 * Refusals a browser can see, in headless Chromium against a preset's server: a browser cannot read
 * the HTTP status of a refused WebSocket upgrade, so the client asks servers to refuse by closing
 * (`refusal=close`) and learns why from the close code. Each preset's test file calls
 * {@link browserRefusalSuite} with its harness and its transport.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { launchChromium } from '../../../../examples/support/browser.js'
import type { Harness, HarnessServer } from './harness.js'

/** The transport the page uses: an export of a preset's package (its browser entry). */
export interface BrowserTransport {
  /** Such as `@tanstack/realtime-preset-node`. */
  module: string
  /** Such as `nodeTransport`. */
  name: string
}

/** What the page reports about its client. */
interface PageReport {
  status: string
  error: string | undefined
  subscription: { status: string; error: string | undefined }
  ready: string
  asked: number
}

declare global {
  interface Window {
    // Set by the page's bundle.
    realtimeTest: {
      start(url: string, token: string | null): Promise<PageReport>
      setToken(token: string): void
      reconnect(): Promise<PageReport>
      stop(): void
    }
  }
}

/** The page's script: a real client over the preset's browser transport, driven by the test. */
function pageScript({ module, name }: BrowserTransport): string {
  return `
import { createRealtimeClient } from '@tanstack/realtime'
import { ${name} as transport } from '${module}'

let client
let subscription
let token = null
let asked = 0
let ready = 'pending'

const report = () => {
  const state = subscription.state.getSnapshot()
  return {
    status: client.status.getSnapshot(),
    error: client.error?.name,
    subscription: { status: state.status, error: state.error?.name },
    ready,
    asked,
  }
}

/** Resolves with the report once the status is one of \`statuses\`. */
const until = (statuses) =>
  new Promise((resolve) => {
    const check = () => {
      if (statuses.includes(client.status.getSnapshot())) {
        stop()
        setTimeout(() => resolve(report())) // after the promises settled
      }
    }
    const stop = client.status.subscribe(check)
    check()
  })

window.realtimeTest = {
  start(url, initialToken) {
    token = initialToken
    client = createRealtimeClient({
      transport: transport({
        url,
        getAuthToken: () => {
          asked++
          return token
        },
      }),
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    })
    subscription = client.subscribe(['chat'], () => {})
    subscription.ready.then(
      () => (ready = 'resolved'),
      (error) => (ready = error.name),
    )
    return until(['refused', 'connected'])
  },
  setToken(next) {
    token = next
  },
  async reconnect() {
    client.connect()
    await subscription.ready.catch(() => {})
    await new Promise((resolve) => {
      const stop = subscription.state.subscribe(() => {
        if (subscription.state.getSnapshot().status === 'live') {
          stop()
          resolve()
        }
      })
      if (subscription.state.getSnapshot().status === 'live') resolve()
    })
    return until(['connected'])
  },
  stop() {
    client?.disconnect()
  },
}
`
}

/** Serves a page that loads the bundled client, on a free port (its own origin). */
async function servePage(transport: BrowserTransport): Promise<{ origin: string; server: Server }> {
  const root = fileURLToPath(new URL('../../../../', import.meta.url))
  const result = await build({
    stdin: { contents: pageScript(transport), resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const script = result.outputFiles[0]?.text ?? ''
  const html = `<!doctype html><html><body><script type="module">${script.replaceAll('</script', '<\\/script')}</script></body></html>`
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

export function browserRefusalSuite(harness: Harness, transport: BrowserTransport): void {
  describe(`refusals in a browser (Chromium, ${harness.name})`, () => {
    let browser: Browser
    let page: Page
    let site: { origin: string; server: Server }
    let server: HarnessServer | undefined

    beforeAll(async () => {
      site = await servePage(transport)
      browser = await launchChromium()
    })
    afterAll(async () => {
      await browser?.close()
      site?.server.close()
    })
    afterEach(async () => {
      await page?.evaluate(() => window.realtimeTest.stop()).catch(() => {})
      await page?.close()
      await server?.stop()
      server = undefined
    })

    const open = async () => {
      page = await browser.newPage()
      await page.goto(site.origin)
      await page.waitForFunction(() => window.realtimeTest !== undefined)
    }

    test('no identity: the token is asked for twice, then the client stops with UnauthorizedError; connect() recovers', async () => {
      server = await harness.start({ allowedOrigins: [site.origin] })
      await open()
      const refused = await page.evaluate((url) => window.realtimeTest.start(url, null), server.url)
      expect(refused).toEqual({
        status: 'refused',
        error: 'UnauthorizedError',
        subscription: { status: 'failed', error: 'UnauthorizedError' },
        ready: 'UnauthorizedError',
        asked: 2,
      })
      await page.evaluate(() => window.realtimeTest.setToken('alice'))
      const recovered = await page.evaluate(() => window.realtimeTest.reconnect())
      expect(recovered).toMatchObject({ status: 'connected', subscription: { status: 'live' }, asked: 3 })
    })

    test('an Origin the server does not allow: the client stops with ForbiddenError', async () => {
      server = await harness.start() // same origin only: the page's origin is another port
      await open()
      const refused = await page.evaluate((url) => window.realtimeTest.start(url, 'alice'), server.url)
      expect(refused).toMatchObject({
        status: 'refused',
        error: 'ForbiddenError',
        subscription: { status: 'failed', error: 'ForbiddenError' },
        ready: 'ForbiddenError',
        asked: 1,
      })
    })
  })
}
