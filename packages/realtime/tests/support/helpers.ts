/**
 * Test helpers shared by every preset's tests and the conformance suite: polling, raw protocol
 * sockets, upgrade probes, and a TCP proxy that cuts the network. Real sockets on 127.0.0.1 only.
 */
import { once } from 'node:events'
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net'
import type { RealtimeClient } from '@tanstack/realtime'
import { WebSocket } from 'ws'

/** Waits until `check` passes (it may be async), polling; fails with the last error after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

/**
 * Subscribes a second, well-behaved client to `['lobby']`; `stillWorks(text)` checks it can still
 * publish and receive, whatever another client did to the server.
 */
export async function bystander(client: RealtimeClient) {
  const got: unknown[] = []
  await client.subscribe(['lobby'], (msg) => got.push(msg)).ready
  return {
    async stillWorks(text: string) {
      await client.publish(['lobby'], text)
      await eventually(() => {
        if (!got.includes(text)) throw new Error(`the bystander did not receive ${JSON.stringify(text)}`)
      })
    },
  }
}

/** Resolves when the client's status becomes `status`. */
export function statusBecomes(client: RealtimeClient, status: string, timeoutMs = 5000): Promise<void> {
  return eventually(() => {
    if (client.status.getSnapshot() !== status)
      throw new Error(`status is ${client.status.getSnapshot()}, not ${status}`)
  }, timeoutMs)
}

/** Records every status the client goes through. */
export function recordStatuses(client: RealtimeClient): string[] {
  const seen = [client.status.getSnapshot() as string]
  client.status.subscribe(() => seen.push(client.status.getSnapshot()))
  return seen
}

export type RawSocket = Awaited<ReturnType<typeof rawSocket>>

/** A raw protocol client (npm `ws`) on a full socket URL, for sending frames the real client never would. */
export async function rawSocket(url: string) {
  const ws = new WebSocket(url)
  const frames: any[] = []
  const waiters: Array<{ match: (frame: any) => boolean; resolve: (frame: any) => void }> = []
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data))
    frames.push(frame)
    for (const waiter of [...waiters]) {
      if (waiter.match(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(frame)
      }
    }
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  )
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const next = (match: (frame: any) => boolean, timeoutMs = 5000) => {
    const found = frames.find(match)
    if (found) return Promise.resolve(found)
    return new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame')), timeoutMs)
      waiters.push({
        match,
        resolve: (frame) => {
          clearTimeout(timer)
          resolve(frame)
        },
      })
    })
  }
  await next((frame) => frame.t === 'hello')
  return {
    ws,
    frames,
    closed,
    next,
    send: (frame: unknown) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    /** Sends a request and resolves with its ack or err. */
    request: (frame: Record<string, unknown>) => {
      ws.send(JSON.stringify(frame))
      return next((reply) => (reply.t === 'ack' || reply.t === 'err') && reply.id === frame.id)
    },
  }
}

/** Opens an upgrade request and resolves with the HTTP status it got (101 when accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.on('open', () => {
      resolve(101)
      ws.close()
    })
    ws.on('error', reject)
  })
}

/** Resolves with the close code of a socket the server accepts and then closes. */
export function closeCode(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('close', (code) => resolve(code))
    ws.on('error', reject)
  })
}

export type Proxy = Awaited<ReturnType<typeof startProxy>>

/**
 * A TCP proxy on 127.0.0.1 in front of the server, to cut the network without stopping the server:
 * `cut()` destroys every proxied connection, `block()` refuses new ones until `unblock()`, `hold()`
 * keeps what the server sends from the client (requests still reach the server; the answers are
 * lost if the connection is cut) until `release()`. With `batchMs`, what the server sends is held
 * and passed on in one write every `batchMs` (a slow link where many frames arrive in one read).
 * Given several ports (servers of one deployment), it is a round-robin load balancer: each
 * connection goes to the next server that accepts it.
 */
export async function startProxy(target: number | number[], { batchMs }: { batchMs?: number } = {}) {
  const targets = Array.isArray(target) ? target : [target]
  let turn = 0
  const sockets = new Set<Socket>()
  const flushes = new Set<() => void>()
  let blocked = false
  let holding = false
  const proxy = createNetServer((downstream) => {
    if (blocked) return downstream.destroy()
    sockets.add(downstream)
    downstream.on('close', () => sockets.delete(downstream))
    downstream.on('error', () => downstream.destroy())
    downstream.pause()
    const attempt = (tries: number) => {
      const upstream = connect(targets[turn++ % targets.length] as number, '127.0.0.1')
      upstream.once('error', () => {
        // A server that refuses: the next one (each at most once).
        if (tries + 1 < targets.length && !downstream.destroyed) attempt(tries + 1)
        else downstream.destroy()
      })
      upstream.once('connect', () => wire(downstream, upstream))
    }
    attempt(0)
  })
  const wire = (downstream: Socket, upstream: Socket) => {
    sockets.add(upstream)
    for (const socket of [downstream, upstream]) {
      socket.on('close', () => {
        sockets.delete(socket)
        downstream.destroy()
        upstream.destroy()
      })
      socket.on('error', () => {
        downstream.destroy()
        upstream.destroy()
      })
    }
    downstream.pipe(upstream)
    let held: Buffer[] = []
    const flush = () => {
      if (held.length > 0 && downstream.writable && !holding) downstream.write(Buffer.concat(held))
      if (!holding) held = []
    }
    flushes.add(flush)
    const timer = batchMs === undefined ? undefined : setInterval(flush, batchMs)
    upstream.on('data', (chunk: Buffer) => {
      held.push(chunk)
      if (batchMs === undefined) flush()
    })
    upstream.on('close', () => {
      clearInterval(timer)
      flushes.delete(flush)
    })
  }
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  const port = (proxy.address() as AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    cut() {
      for (const socket of sockets) socket.destroy()
    },
    block() {
      blocked = true
    },
    unblock() {
      blocked = false
    },
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const flush of flushes) flush()
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    },
  }
}
