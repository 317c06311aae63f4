// @ts-check
// Three processes of the chat example (examples/basic) sharing one Redis, behind a round-robin load
// balancer without sticky sessions: every HTTP request and every WebSocket goes to the next process.
// Open two tabs: they chat and see each other online although they reach different processes. Kill
// one process (its pid is printed): its tabs reconnect to another one and resume.
//
// Run it with `npm run start:scaling` from the repository root (it builds the packages first). It
// starts its own redis-server (Debian: `apt-get install redis-server`) unless REDIS_URL is set.
import { spawn } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startRedisServer } from '@tanstack/realtime-redis/testing'

const PROCESSES = 3
const chat = fileURLToPath(new URL('../basic/server.js', import.meta.url))
const redis = process.env.REDIS_URL ? undefined : await startRedisServer()
const redisUrl = process.env.REDIS_URL ?? /** @type {NonNullable<typeof redis>} */ (redis).url

/** Starts one chat server on a free port with the Redis store; resolves with its port. */
function startChat() {
  const child = spawn(process.execPath, [chat], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
      const port = /open http:\/\/localhost:(\d+)/.exec(output)?.[1]
      if (port) resolve({ child, port: Number(port) })
    })
    child.once('exit', () => reject(new Error(`a chat server exited: ${output}`)))
  })
}

const servers = /** @type {Array<{ child: import('node:child_process').ChildProcess, port: number }>} */ (
  await Promise.all(Array.from({ length: PROCESSES }, startChat))
)

let turn = 0
const balancer = createServer((downstream) => {
  downstream.pause()
  downstream.on('error', () => downstream.destroy())
  /** @param {number} tries */
  const attempt = (tries) => {
    const server = /** @type {(typeof servers)[number]} */ (servers[turn++ % servers.length])
    const upstream = connect(server.port, '127.0.0.1')
    upstream.once('error', () => (tries + 1 < servers.length ? attempt(tries + 1) : downstream.destroy()))
    upstream.once('connect', () => {
      upstream.on('error', () => downstream.destroy())
      upstream.on('close', () => downstream.destroy())
      downstream.on('close', () => upstream.destroy())
      downstream.pipe(upstream)
      upstream.pipe(downstream)
    })
  }
  attempt(0)
})
const port = Number(process.env.PORT ?? 3000)
balancer.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = balancer.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`Chat servers (pids ${servers.map((server) => server.child.pid).join(', ')}) share ${redisUrl}.`)
  console.log(`TanStack Realtime, ${PROCESSES} processes + Redis: open http://localhost:${actual} in two browser tabs.`)
})

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, async () => {
    balancer.close()
    await Promise.all(
      servers.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined)
            child.once('exit', resolve)
            child.kill('SIGTERM')
          }),
      ),
    )
    await redis?.close()
    process.exit(0)
  })
}
