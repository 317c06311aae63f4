import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { launchChromium } from '../../../../examples/support/browser.js'
import { eventually, startHttp, upgradeStatus } from '../helpers.js'

// The snippets read these: a free port, and a test secret.
process.env.PORT = '0'
process.env.REALTIME_TOKEN_SECRET = 'a-test-secret-of-at-least-32-characters'

const { signToken, verifyToken } = await import('./token.js')

test('tokens: a signed token verifies; forged, expired and malformed ones do not', async () => {
  const token = signToken('ada')
  expect(token.split('.')).toHaveLength(3)
  expect(verifyToken(token)).toMatchObject({ sub: 'ada' })
  const [header, payload] = token.split('.')
  const forgedPayload = Buffer.from(JSON.stringify({ sub: 'root', exp: 9999999999 })).toString('base64url')
  expect(verifyToken(`${header}.${forgedPayload}.${token.split('.')[2]}`)).toBeNull()
  expect(verifyToken(`${header}.${payload}.`)).toBeNull()
  expect(verifyToken(signToken('ada', -1))).toBeNull()
  for (const garbage of ['', 'a.b', 'a.b.c.d', '...', 'x'.repeat(2000)]) expect(verifyToken(garbage)).toBeNull()
})

test('cookies: the session cookie sent with the upgrade is the identity', async () => {
  const { realtime } = await import('./auth-cookie.js')
  const http = await startHttp(realtime.server)
  try {
    const endpoint = `${http.url}/_realtime`
    expect(await upgradeStatus(endpoint, { cookie: 'theme=dark; sid=s3cr3t' })).toBe(101)
    expect(await upgradeStatus(endpoint, { cookie: 'sid=wrong' })).toBe(401)
    expect(await upgradeStatus(endpoint)).toBe(401)
  } finally {
    await realtime.close()
    await http.close()
  }
})

describe('short-lived tokens from an endpoint, in Chromium', () => {
  let browser: Browser
  let server: typeof import('./auth-token-server.js')
  let origin: string
  const tokenRequests: number[] = []

  beforeAll(async () => {
    const { build } = await import('esbuild')
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('auth-page.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      logLevel: 'warning',
    })
    server = await import('./auth-token-server.js')
    const { app, httpServer } = server
    app.get('/', (_req, res) => res.type('html').send('<script type="module" src="/app.js"></script>'))
    app.get('/app.js', (_req, res) => res.type('js').send(bundle.outputFiles[0]?.text))
    httpServer.on('request', (req, res) => {
      if (req.url === '/api/realtime-token') res.on('finish', () => tokenRequests.push(res.statusCode))
    })
    await eventually(() => expect(httpServer.listening).toBe(true))
    const address = httpServer.address()
    origin = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.realtime.close()
    server?.httpServer.closeAllConnections()
    await new Promise((resolve) => server?.httpServer.close(resolve))
  })

  test('a signed-in page fetches a token, connects with it as ?token=, and receives messages', async () => {
    const context = await browser.newContext()
    await context.addCookies([{ name: 'sid', value: 's3cr3t', url: origin }])
    const page = await context.newPage()
    const sockets: string[] = []
    page.on('websocket', (socket) => sockets.push(socket.url()))
    await page.goto(origin)
    await page.waitForFunction(() => document.title === 'live as ada')
    await server.realtime.publish(['news'], { headline: 'Signed in' })
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length === 1)
    expect(await page.evaluate(() => (window as unknown as { received: unknown[] }).received)).toEqual([
      { headline: 'Signed in' },
    ])
    const token = new URL(sockets[0] ?? '').searchParams.get('token')
    expect(verifyToken(token ?? '')).toMatchObject({ sub: 'ada' })
    await context.close()
  })

  test('a page without a session gets 401 for a token; its client asks twice, then stops without connecting', async () => {
    const before = tokenRequests.filter((status) => status === 401).length
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(origin)
    // Two refused token requests: the client asked, was refused (4401), asked once more for a fresh token, and was
    // refused again: it stops (status refused) until connect() or the next request.
    await eventually(() => expect(tokenRequests.filter((status) => status === 401).length).toBeGreaterThan(before + 1))
    expect(server.realtime.server.stats().connections).toBe(0)
    expect(await page.title()).toBe('')
    await context.close()
  })
})

test('tokens: the WebCrypto check accepts what the node:crypto signer issues, and nothing else', async () => {
  const webcrypto = await import('./token-webcrypto.js')
  const secret = process.env.REALTIME_TOKEN_SECRET ?? ''
  const token = signToken('ada')
  expect(await webcrypto.verifyToken(token, secret)).toEqual(verifyToken(token))
  expect(await webcrypto.verifyToken(token, `${secret}!`)).toBeNull()
  expect(await webcrypto.verifyToken(signToken('ada', -1), secret)).toBeNull()
  for (const garbage of ['', 'a.b', 'a.b.c', '...', '%%.%%.%%', token.slice(0, -2)]) {
    expect(await webcrypto.verifyToken(garbage, secret)).toBeNull()
  }
})
