// @ts-check
// The demo server: serves the React app and hosts the realtime endpoint, with the todos kept in a
// JSON file so they survive a restart. Run it with `npm start` from the repository root.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidError } from '@tanstack/realtime'
import { defineServerChannel } from '@tanstack/realtime/server'
import { createNodeServer } from '@tanstack/realtime-preset-node'
import { chatChannel, cursorsChannel } from './channels.js'
import { openTodoStore } from './todo-store.js'

// DEMO_DIST: the Vue, Solid and Svelte examples serve their own builds with this server.
const dist = process.env.DEMO_DIST ?? fileURLToPath(new URL('dist', import.meta.url))
const dataFile = process.env.DEMO_DATA_FILE ?? fileURLToPath(new URL('data/todos.json', import.meta.url))
const todos = await openTodoStore(dataFile)

const types = /** @type {Record<string, string>} */ ({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
})

const realtime = createNodeServer({
  path: '/_realtime',
  // Each tab picks a display name and sends it as its token. A real app would read a session cookie.
  getAuthToken(req) {
    const name = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')?.trim()
    return name && name.length <= 40 ? name : null
  },
  authorize(_name, [channel]) {
    if (channel === 'chat' || channel === 'todos') return { subscribe: true, publish: true, presence: true }
    if (channel === 'cursors') return { subscribe: false, publish: false, presence: true }
    return null
  },
  // The chat's and the cursors' schemas (channels.js, shared with the app) are checked here, and
  // what only the server knows is set here: a client cannot claim another author, time or name.
  channels: [
    defineServerChannel(chatChannel, {
      onPublish: ({ data, userId }) => ({ ...data, from: userId, at: Date.now() }),
    }),
    defineServerChannel(cursorsChannel, {
      onJoin: ({ state, userId }) => ({ ...state, name: userId }),
      onUpdate: ({ state, userId }) => ({ ...state, name: userId }),
    }),
  ],
  collections: {
    todos: {
      load: () => todos.all(),
      async write(ops, { identity }) {
        for (const op of ops) {
          if (op.type !== 'delete' && !isTodo(op.value)) {
            throw new InvalidError('A todo needs an id, a title of 1 to 200 characters and a done flag.')
          }
        }
        return todos.apply(ops, String(identity))
      },
    },
  },
})

/** @param {unknown} value */
function isTodo(value) {
  const todo = /** @type {Record<string, unknown>} */ (value)
  return (
    typeof todo.id === 'string' &&
    todo.id.length > 0 &&
    todo.id.length <= 64 &&
    typeof todo.title === 'string' &&
    todo.title.trim().length > 0 &&
    todo.title.length <= 200 &&
    typeof todo.done === 'boolean'
  )
}

const http = createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  const file = normalize(join(dist, path === '/' ? 'index.html' : path))
  if (!file.startsWith(dist)) return res.writeHead(404).end('Not found')
  try {
    const body = await readFile(file)
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(body)
  } catch {
    res.writeHead(404).end('Not found (did the demo build run? `npm start` builds it)')
  }
})
http.on('upgrade', (req, socket, head) => realtime.server.handleUpgrade(req, socket, head))

const port = Number(process.env.PORT ?? 3000)
http.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = http.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`TanStack Realtime demo: open http://localhost:${actual} in two browser tabs.`)
})

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, async () => {
    await realtime.close()
    await todos.flush()
    http.close()
    process.exit(0)
  })
}
