// @ts-check
// The demo server: a plain Node HTTP server that serves the page and hosts the realtime endpoint.
// Run it with `npm start` from the repository root (it builds the packages first).
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { dirname, extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createNodeServer } from '@tanstack/realtime-preset-node'

const here = dirname(fileURLToPath(import.meta.url))
/** Browser-loadable ES modules of the packages, served under /_pkg/<name>/. */
const packages = {
  realtime: dirname(fileURLToPath(import.meta.resolve('@tanstack/realtime'))),
  'realtime-preset-node': dirname(fileURLToPath(import.meta.resolve('@tanstack/realtime-preset-node'))),
}
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
}

// With REDIS_URL, several processes share the chat through Redis (see examples/scaling).
const store = process.env.REDIS_URL
  ? (await import('@tanstack/realtime-redis')).createRedisStore({ url: process.env.REDIS_URL })
  : undefined

const realtime = createNodeServer({
  path: '/_realtime',
  ...(store && { store }),
  // Each tab picks a display name and sends it as its token. A real app would read a session cookie.
  getAuthToken(req) {
    const name = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')?.trim()
    return name && name.length <= 40 ? name : null
  },
  authorize(_userName, [channel]) {
    if (channel === 'chat') return { subscribe: true, publish: true, presence: true }
    return null
  },
})

const http = createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  const file = resolveFile(path === '/' ? '/index.html' : path)
  if (!file) return res.writeHead(404).end('Not found')
  try {
    const body = await readFile(file)
    res.writeHead(200, {
      'Content-Type': types[/** @type {keyof typeof types} */ (extname(file))] ?? 'application/octet-stream',
    })
    res.end(body)
  } catch {
    res.writeHead(404).end('Not found')
  }
})
http.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))

/** @param {string} path */
function resolveFile(path) {
  const match = /^\/_pkg\/([^/]+)\/(.+)$/.exec(path)
  const root = match ? packages[/** @type {keyof typeof packages} */ (match[1])] : join(here, 'public')
  if (!root) return undefined
  const file = normalize(join(root, match ? (match[2] ?? '') : path))
  return file.startsWith(root) ? file : undefined
}

const port = Number(process.env.PORT ?? 3000)
http.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = http.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`TanStack Realtime demo: open http://localhost:${actual} in two browser tabs.`)
})

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, async () => {
    await realtime.close()
    http.close()
    process.exit(0)
  })
}
