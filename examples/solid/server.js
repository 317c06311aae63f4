// @ts-check
// Serves this example's build (`npm run build`, into dist/) with the demo's server: the same
// channels (chat, cursors for presence, the todos collection), the todos kept in data/todos.json.
import { fileURLToPath } from 'node:url'

process.env.DEMO_DIST ??= fileURLToPath(new URL('dist', import.meta.url))
process.env.DEMO_DATA_FILE ??= fileURLToPath(new URL('data/todos.json', import.meta.url))
await import('../demo/server.js')
