/**
 * Runs a Worker in real workerd through Miniflare on 127.0.0.1, and the conformance harness for
 * this preset: `workerdTransport` clients (npm `ws`) against `createWorkerdHandler` and the
 * `RealtimeChannel` Durable Objects of tests/fixtures/test-worker.ts.
 */

import { execFile } from 'node:child_process'
import { request as httpRequestRaw } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import {
  createRealtimeClient,
  errorFromCode,
  type RealtimeClient,
  RealtimeError,
  serializeChannelKey,
} from '@tanstack/realtime'
import { workerdTransport } from '@tanstack/realtime-preset-workerd'
import { Log, LogLevel, Miniflare, type MiniflareOptions, Response as MiniflareResponse } from 'miniflare'
import { WebSocket } from 'ws'
import type { Harness, HarnessOptions, HarnessServer, TokenSource } from '../../../realtime/tests/conformance/suite.js'

const bundles = new Map<string, Promise<string>>()
const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild')

/**
 * Bundles a Worker entry (TypeScript, importing the built packages) into one ES module, with the
 * esbuild CLI (so it also works from test files that run in a jsdom environment).
 */
export function bundleWorker(entry: string): Promise<string> {
  let bundle = bundles.get(entry)
  if (!bundle) {
    const args = [
      entry,
      '--bundle',
      '--format=esm',
      '--platform=neutral',
      '--target=es2022',
      '--conditions=workerd,worker,browser',
      '--main-fields=module,main',
      '--log-level=error',
      '--external:cloudflare:*',
    ]
    bundle = new Promise<string>((resolve, reject) =>
      execFile(esbuild, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`esbuild failed: ${stderr}`)) : resolve(stdout),
      ),
    )
    bundles.set(entry, bundle)
  }
  return bundle
}

export const testWorkerEntry = join(import.meta.dirname, '../fixtures/test-worker.ts')

/** Starts Miniflare with `script` as the Worker and `RealtimeChannel` bound as `REALTIME_CHANNEL`. */
export async function startWorkerd(script: string, options: Partial<MiniflareOptions> = {}, port = 0) {
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: join(import.meta.dirname, 'worker.mjs'), contents: script }],
    port,
    host: '127.0.0.1',
    cf: false,
    compatibilityDate: '2026-04-01',
    log: new Log(LogLevel.WARN),
    durableObjects: { REALTIME_CHANNEL: 'RealtimeChannel' },
    ...options,
  } as MiniflareOptions)
  const url = await mf.ready
  return { mf, port: Number(url.port), url: `ws://127.0.0.1:${url.port}` }
}

const clients = new Set<RealtimeClient>()

const json = (body: unknown, status = 200) =>
  new MiniflareResponse(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** The Workers preset's harness for the conformance suite. */
export const workerdHarness: Harness = {
  name: 'workerd',
  closeClients() {
    for (const client of clients) client.disconnect()
    clients.clear()
  },
  async start(options: HarnessOptions = {}): Promise<HarnessServer> {
    const { authorize, identify, onError, collection, ...channelOptions } = options
    const script = await bundleWorker(testWorkerEntry)
    // The test process's callbacks, reached from the Worker through a service binding.
    const harnessBinding = async (request: { url: string; json(): Promise<any> }) => {
      const path = new URL(request.url).pathname
      const body = await request.json()
      try {
        if (path === '/authorize') return json({ permissions: (await authorize?.(body.token, body.channel)) ?? null })
        if (path === '/identify') return json({ identity: identify?.(body.token) ?? null })
        if (path === '/load' || path === '/write') {
          // The collection's answer, or the error it threw (a RealtimeError keeps its code).
          try {
            if (!collection) throw new Error('The test serves no collection.')
            if (path === '/load') return json({ rows: await collection.load(body.channel, body.identity) })
            return json({ changes: await collection.write?.(body.ops, body) })
          } catch (error) {
            const { code, message } = error as { code?: string; message: string }
            return json({ error: { code: error instanceof RealtimeError ? code : 'internal', message } })
          }
        }
        if (path === '/error') {
          onError?.(new Error(body.message))
          return json({})
        }
        return json({ error: 'unknown harness route' }, 404)
      } catch (error) {
        return new MiniflareResponse(String((error as Error).message), { status: 500 })
      }
    }
    const config = (): Partial<MiniflareOptions> => ({
      bindings: {
        OPTIONS: {
          presenceGraceMs: 0,
          ...channelOptions,
          authorize: !!authorize,
          identify: !!identify,
          collection: !!collection,
        },
      },
      serviceBindings: { HARNESS: harnessBinding as never },
    })
    let current = await startWorkerd(script, config())
    const port = current.port
    const url = current.url
    const http = `http://127.0.0.1:${port}`
    /** Calls a server-side function of the package through the Worker's test route (typed errors as thrown). */
    const post = async (path: string, body: unknown) => {
      const response = await httpRequest(`${http}${path}`, { method: 'POST', body: JSON.stringify(body) })
      const answer = response.json()
      if (response.status !== 200) throw errorFromCode(answer.error.code, answer.error.message)
      return answer
    }
    const transport = (token: TokenSource, target = url) =>
      workerdTransport({
        url: target,
        getAuthToken: typeof token === 'function' ? token : () => token,
        WebSocket: WebSocket as never,
      })
    return {
      url,
      port,
      transport,
      client(token, { url: target = url, ...clientOptions } = {}) {
        const client = createRealtimeClient({
          transport: transport(token, target),
          reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
          requestTimeoutMs: 3000,
          presenceThrottleMs: 0,
          ...clientOptions,
        })
        clients.add(client)
        return client
      },
      socketUrl: (channel, query) => `${url}/_realtime/${encodeURIComponent(channel)}?${query}`,
      publish: (channel, data) => post('/__publish', { channel, data }),
      getPresence: (channel) => post('/__presence', { channel }),
      getHistory: (channel, { limit } = {}) => post('/__history', { channel, limit }),
      async subscriberCount(channel) {
        const ch = encodeURIComponent(serializeChannelKey(channel))
        const response = await httpRequest(`${http}/__stats?channel=${ch}`)
        return (response.json() as { subscribers: number }).subscribers
      },
      async stop() {
        await current.mf.dispose()
      },
      async restart() {
        current = await startWorkerd(script, config(), port)
      },
    }
  },
}

/** The in-memory instance of a channel's object: it changes when the object was evicted. */
export async function channelInstance(server: { port: number }, channel: string): Promise<string> {
  const response = await httpRequest(
    `http://127.0.0.1:${server.port}/__instance?channel=${encodeURIComponent(channel)}`,
  )
  return response.text
}

export type { HarnessServer }

/** The answer of {@link httpRequest}. */
export interface HttpAnswer {
  status: number
  text: string
  json(): any
}

/**
 * An HTTP request to workerd on a connection of its own. `fetch` keeps connections alive, and workerd
 * may close an idle one just as `fetch` reuses it (a flaky ECONNRESET); one connection per request
 * cannot be reused after it was closed.
 */
export function httpRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(init.body)
  })
}
