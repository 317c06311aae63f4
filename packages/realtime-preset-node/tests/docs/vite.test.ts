import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createRealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { startTestServer, type TestServer } from '@tanstack/realtime-preset-node/testing'
import { createServer, type ProxyOptions, type ViteDevServer } from 'vite'
import { afterEach, expect, test } from 'vitest'
import { eventually, startHttp, upgradeStatus } from '../helpers.js'
import { browserWebSocket } from './support.js'
import viteConfig from './vite-proxy.js'

let realtime: TestServer<unknown> | undefined
let vite: ViteDevServer | undefined
afterEach(async () => {
  await vite?.close()
  await realtime?.close()
  vite = realtime = undefined
})

type Proxy = Record<string, string | ProxyOptions>

/** The documented proxy entries, pointed at the test server's port instead of 3001. */
function documentedProxy(port: number): Proxy {
  const entries = Object.entries(viteConfig.server?.proxy ?? {})
  expect(entries.length).toBe(1)
  return Object.fromEntries(
    entries.map(([path, options]) => {
      const target = (value: unknown) => String(value).replace('localhost:3001', `localhost:${port}`)
      return [path, typeof options === 'string' ? target(options) : { ...options, target: target(options.target) }]
    }),
  )
}

/** A real Vite dev server on 127.0.0.1 and a free port, with the given `server.proxy`. */
async function startVite(proxy: Proxy) {
  vite = await createServer({
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    logLevel: 'silent',
    optimizeDeps: { noDiscovery: true },
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, proxy },
  })
  await vite.listen()
  const address = vite.httpServer?.address() as AddressInfo | null | undefined
  if (!address) throw new Error('Vite is not listening')
  return `http://localhost:${address.port}`
}

test('the documented Vite proxy carries subscribe and publish, and passes the same-origin check', async () => {
  realtime = await startTestServer()
  const page = await startVite(documentedProxy(Number(new URL(realtime.url).port)))
  // A page on the Vite origin: the transport derives ws://localhost:<vite>/_realtime, the browser sends Origin.
  const client = (token: string) =>
    createRealtimeClient({
      transport: nodeTransport({ url: page, getAuthToken: () => token, WebSocket: browserWebSocket(page) }),
    })
  const ada = client('ada')
  const bo = client('bo')
  try {
    const got: unknown[] = []
    await ada.subscribe(['chat'], (message) => got.push(message)).ready
    await bo.publish(['chat'], { text: 'through Vite' })
    await eventually(() => expect(got).toEqual([{ text: 'through Vite' }]))
    expect(bo.userId).toBe('bo')
  } finally {
    ada.disconnect()
    bo.disconnect()
  }
})

test('changeOrigin (also implied by the string shorthand) rewrites Host, so the Origin check refuses', async () => {
  realtime = await startTestServer()
  const target = `ws://localhost:${new URL(realtime.url).port}`
  const status = async (proxy: string | ProxyOptions) => {
    await vite?.close()
    const page = await startVite({ '/_realtime': proxy })
    return upgradeStatus(`${page.replace('http', 'ws')}/_realtime?token=a`, { Origin: page })
  }
  expect(await status({ target, ws: true })).toBe(101)
  expect(await status(target)).toBe(403)
  expect(await status({ target, ws: true, changeOrigin: true })).toBe(403)
  // rewriteWsOrigin sets the Origin to the target's ws:// URL, which is no page's origin: refused too.
  expect(await status({ target, ws: true, changeOrigin: true, rewriteWsOrigin: true })).toBe(403)
})

test('without a proxy, the documented allowedOrigins admit the Vite page and nobody else', async () => {
  const { realtime: server } = await import('./vite-origins.js')
  const http = await startHttp(server.server)
  try {
    const endpoint = `${http.url}/_realtime?token=ada`
    expect(await upgradeStatus(endpoint, { Origin: 'http://localhost:5173' })).toBe(101)
    expect(await upgradeStatus(endpoint, { Origin: 'http://localhost:5174' })).toBe(403)
  } finally {
    await server.close()
    await http.close()
  }
})
