import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { type AddressInfo, connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConnectionOptions } from 'node:tls'
import { createRealtimeClient, type RealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type ClientOptions, WebSocket } from 'ws'
import { eventually, recordStatuses, startHttp, upgradeStatus } from '../helpers.js'
import { browserWebSocket } from './support.js'

// The snippet listens on PORT: a free port here.
process.env.PORT = '0'
const server = await import('./deployment-server.js')
const sigterm = process.listeners('SIGTERM').at(-1) as () => Promise<void>
process.off('SIGTERM', sigterm)
if (!server.httpServer.listening) await once(server.httpServer, 'listening')
const backendPort = (server.httpServer.address() as AddressInfo).port

afterAll(async () => {
  await server.realtime.close()
  server.httpServer.closeAllConnections()
  if (server.httpServer.listening) await new Promise((resolve) => server.httpServer.close(resolve))
})

/** nginx, when installed: `NGINX_PATH`, else on `PATH` or in Debian's `/usr/sbin`. */
function findNginx(): string | undefined {
  for (const candidate of [process.env.NGINX_PATH, 'nginx', '/usr/sbin/nginx']) {
    if (!candidate) continue
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' })
      return candidate
    } catch {}
  }
  return undefined
}
const nginx = findNginx()
const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

test('the server answers /healthz with its counts', async () => {
  const client = createRealtimeClient({
    transport: nodeTransport({ url: `ws://127.0.0.1:${backendPort}`, getAuthToken: () => 'ada' }),
  })
  try {
    await client.subscribe(['chat'], () => {}).ready
    const health = await fetch(`http://127.0.0.1:${backendPort}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ connections: 1, channels: 1 })
  } finally {
    client.disconnect()
  }
})

test('with the documented allowedOrigins, the public origin is accepted whatever Host the proxy sends', async () => {
  const { realtime } = await import('./deployment-origins.js')
  const http = await startHttp(realtime.server)
  try {
    const endpoint = `${http.url}/_realtime?token=ada`
    const proxied = { host: '127.0.0.1:3000' } // a proxy that sends the upstream address as Host
    expect(await upgradeStatus(endpoint, { ...proxied, origin: 'https://app.example.com' })).toBe(101)
    expect(await upgradeStatus(endpoint, { ...proxied, origin: 'https://evil.example' })).toBe(403)
  } finally {
    await realtime.close()
    await http.close()
  }
})

/** A free port on 127.0.0.1 for nginx (which must be told its port). */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** The nginx block of docs/deployment.md, with `replacements` applied (each must match exactly once). */
async function documentedNginx(replacements: Array<[string, string]>): Promise<string> {
  const markdown = await readFile(new URL('../../../../docs/deployment.md', import.meta.url), 'utf8')
  const blocks = [...markdown.matchAll(/```nginx\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  expect(blocks).toHaveLength(1)
  let config = blocks[0] ?? ''
  for (const [from, to] of replacements) {
    const count = config.split(from).length - 1
    expect(count, from).toBeGreaterThan(0)
    config = config.replaceAll(from, to)
  }
  return config
}

// Contributors without nginx skip these; CI installs it (.ci/run) and never skips them.
describe.skipIf(!process.env.CI && (!nginx || !openssl))('the documented nginx configuration, in a real nginx', () => {
  let dir: string
  let process_: ChildProcess | undefined
  let tlsPort: number
  let httpPort: number
  let cert: Buffer
  const host = () => `app.example.com:${tlsPort}`
  const clients: RealtimeClient[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'realtime-nginx-'))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=app.example.com',
        '-addext',
        'subjectAltName=DNS:app.example.com',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    cert = await readFile(join(dir, 'cert.pem'))
    tlsPort = await freePort()
    httpPort = await freePort()
    const site = await documentedNginx([
      ['listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;`],
      ['listen 80;', `listen 127.0.0.1:${httpPort};`],
      ['/etc/letsencrypt/live/app.example.com/fullchain.pem', join(dir, 'cert.pem')],
      ['/etc/letsencrypt/live/app.example.com/privkey.pem', join(dir, 'key.pem')],
      ['127.0.0.1:3000', `127.0.0.1:${backendPort}`],
      ['/var/log/nginx/', `${dir}/`],
    ])
    // Every temporary path nginx was built with, inside the test's directory.
    const { stdout, stderr } = spawnSync(nginx as string, ['-V'], { encoding: 'utf8' })
    const version = `${stdout}${stderr}` // nginx -V writes to stderr
    const temps = [...version.matchAll(/--http-([a-z-]+)-temp-path=/g)]
      .map((match) => (match[1] ?? '').replace('-', '_'))
      .filter((name) => !version.includes(`--without-http_${name}_module`))
      .map((name) => `${name}_temp_path ${join(dir, name)};`)
    await writeFile(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'master_process off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')};`,
        'events { worker_connections 64; }',
        `http {\naccess_log ${join(dir, 'access.log')};\n${[...new Set(temps)].join('\n')}\n${site}\n}`,
      ].join('\n'),
    )
    process_ = spawn(nginx as string, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: 'ignore',
    })
    const exited = once(process_, 'exit').then(async () => {
      throw new Error(`nginx exited: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`)
    })
    await Promise.race([
      exited,
      eventually(
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = connect(tlsPort, '127.0.0.1', () => {
              socket.end()
              resolve()
            })
            socket.on('error', reject)
          }),
      ),
    ])
    exited.catch(() => {})
  })

  afterAll(async () => {
    for (const client of clients) client.disconnect()
    if (process_ && process_.exitCode === null) {
      process_.kill('SIGTERM')
      await once(process_, 'exit')
    }
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** A client on the page https://app.example.com:<port>, through nginx, as a browser sends it. */
  const browserClient = (token: string) => {
    const client = createRealtimeClient({
      transport: nodeTransport({
        url: `wss://127.0.0.1:${tlsPort}`,
        getAuthToken: () => token,
        WebSocket: browserWebSocket(`https://${host()}`, {
          headers: { host: host() },
          servername: 'app.example.com',
          ca: cert,
        }),
      }),
    })
    clients.push(client)
    return client
  }

  test('over TLS, a browser-like client subscribes and publishes through nginx (same-origin check passes)', async () => {
    const ada = browserClient('ada')
    const bo = browserClient('bo')
    const got: unknown[] = []
    await ada.subscribe(['chat'], (message) => got.push(message)).ready
    await bo.publish(['chat'], { text: 'through nginx' })
    await eventually(() => expect(got).toEqual([{ text: 'through nginx' }]))
    expect(ada.userId).toBe('ada')
  })

  test("another site's Origin is refused with 403 through nginx", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const options: ClientOptions & Pick<ConnectionOptions, 'servername'> = {
        headers: { host: host() },
        origin: 'https://evil.example',
        servername: 'app.example.com',
        ca: cert,
      }
      const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/_realtime?token=eve`, options)
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        ws.terminate()
      })
      ws.on('open', () => resolve(101))
      ws.on('error', reject)
    })
    expect(status).toBe(403)
  })

  test('plain HTTP is redirected to HTTPS, and /healthz answers through the proxy', async () => {
    const redirect = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
      httpRequest(
        { port: httpPort, host: '127.0.0.1', path: '/board', headers: { host: 'app.example.com' } },
        (res) => {
          res.resume()
          resolve({ status: res.statusCode, location: res.headers.location })
        },
      )
        .on('error', reject)
        .end()
    })
    expect(redirect).toEqual({ status: 301, location: 'https://app.example.com/board' })
    const health = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      httpsRequest(
        {
          port: tlsPort,
          host: '127.0.0.1',
          path: '/healthz',
          headers: { host: host() },
          servername: 'app.example.com',
          ca: cert,
        },
        async (res) => {
          let body = ''
          for await (const chunk of res) body += chunk
          resolve({ status: res.statusCode, body })
        },
      )
        .on('error', reject)
        .end()
    })
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toMatchObject({ connections: expect.any(Number), channels: expect.any(Number) })
  })

  test('the realtime access log has the path and no token', async () => {
    const client = browserClient('secret-token-value')
    await client.subscribe(['chat'], () => {}).ready
    // nginx logs a WebSocket when it ends.
    client.disconnect()
    await eventually(async () => {
      expect(await readFile(join(dir, 'realtime.log'), 'utf8')).toContain('"GET /_realtime HTTP/1.1" 101')
    })
    const log = await readFile(join(dir, 'realtime.log'), 'utf8')
    expect(log).not.toContain('token')
    expect(log).not.toContain('secret-token-value')
  })
})

test('SIGTERM closes the realtime server: clients see it and start reconnecting, the server stops listening', async () => {
  const client = createRealtimeClient({
    transport: nodeTransport({ url: `ws://127.0.0.1:${backendPort}`, getAuthToken: () => 'ada' }),
  })
  try {
    await client.subscribe(['chat'], () => {}).ready
    const statuses = recordStatuses(client)
    await sigterm()
    await eventually(() => expect(statuses).toContain('reconnecting'))
    await eventually(() => expect(server.httpServer.listening).toBe(false))
  } finally {
    client.disconnect()
  }
})
