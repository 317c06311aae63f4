/**
 * A scripted server behind a fake transport, for the client core's unit tests (with fake timers):
 * it records every socket the client opens and every frame it sends, answers requests through
 * `respond`, and can push frames, drop sockets and refuse them with close codes.
 */
import {
  createRealtimeClient,
  type RealtimeClient,
  type RealtimeClientOptions,
  type RealtimeTransport,
  type ServerLimits,
  type TransportHandlers,
} from '@tanstack/realtime'
import { afterEach, beforeEach, vi } from 'vitest'

export interface FakeSocket {
  readonly channel: string | undefined
  readonly params: Record<string, string>
  /** Frames the client sent on this socket, parsed. */
  readonly sent: any[]
  /** The close code the client closed it with, once it did. */
  closedWith: number | undefined
  /** Pushes a frame to the client. */
  receive(frame: object): void
  /** The socket closes under the client (a drop, or a refusal's close code). */
  drop(code?: number, reason?: string): void
}

type Reply = object | undefined | 'silence'

export interface FakeServerOptions {
  mode?: 'shared' | 'per-channel'
  /**
   * What the server does with a new socket: `hello` (default) opens it and says hello; a number
   * closes it with that code; `hang` leaves it opening.
   */
  accept?: (socket: FakeSocket) => 'hello' | 'hang' | number
  /** The answer to a request; undefined: the default (an ack, with a sequence number for pub and write). */
  respond?: (frame: any, socket: FakeSocket) => Reply
  limits?: Partial<ServerLimits>
}

export function fakeServer(options: FakeServerOptions = {}) {
  const sockets: FakeSocket[] = []
  /** Every request the client sent, with the fake clock's time. */
  const requests: Array<{ frame: any; at: number; socket: FakeSocket }> = []
  const seqs = new Map<string, number>()
  let connections = 0
  const transport: RealtimeTransport = {
    mode: options.mode ?? 'shared',
    open({ channel, params, handlers }) {
      const socket = makeSocket(channel, params, handlers)
      sockets.push(socket)
      // Never from inside open() (the transport contract): from a microtask.
      queueMicrotask(() => {
        if (socket.closedWith !== undefined) return
        const decision = options.accept?.(socket) ?? 'hello'
        if (decision === 'hang') return
        if (typeof decision === 'number') return socket.drop(decision, 'refused')
        handlers.onOpen()
        connections++
        socket.receive({
          t: 'hello',
          cid: `c${connections}`,
          uid: 'user',
          resumed: false,
          resume: `r${connections}`,
          limits: { maxMessageBytes: 65536, maxPresenceBytes: 1024, maxChannels: 100, ...options.limits },
        })
      })
      return socket
    },
  }

  function makeSocket(channel: string | undefined, params: Record<string, string>, handlers: TransportHandlers) {
    let open = true
    const socket: FakeSocket = {
      channel,
      params,
      sent: [],
      closedWith: undefined,
      receive(frame) {
        if (open) handlers.onMessage(JSON.stringify(frame))
      },
      drop(code = 1006, reason = '') {
        if (!open) return
        open = false
        handlers.onClose(code, reason)
      },
    }
    const closable = socket as FakeSocket & { send(text: string): void; close(code?: number): void }
    closable.send = (text) => {
      if (!open) return
      const frame = JSON.parse(text)
      socket.sent.push(frame)
      if (frame.t === 'ping') return socket.receive({ t: 'pong' })
      requests.push({ frame, at: Date.now(), socket })
      const reply = options.respond?.(frame, socket) ?? defaultReply(frame)
      if (reply !== 'silence') queueMicrotask(() => socket.receive(reply))
    }
    closable.close = (code = 1000) => {
      open = false
      socket.closedWith = code
    }
    return closable
  }

  function defaultReply(frame: any): object {
    if (frame.t === 'pub' || frame.t === 'write') {
      const seq = (seqs.get(frame.ch) ?? 0) + 1
      seqs.set(frame.ch, seq)
      return { t: 'ack', id: frame.id, seq, epoch: 'e1' }
    }
    if (frame.t === 'sub') return { t: 'ack', id: frame.id, seq: seqs.get(frame.ch) ?? 0, epoch: 'e1' }
    if (frame.t === 'pjoin') return { t: 'ack', id: frame.id, members: [] }
    if (frame.t === 'snap') return { t: 'ack', id: frame.id, rows: [], seq: seqs.get(frame.ch) ?? 0, epoch: 'e1' }
    return { t: 'ack', id: frame.id }
  }

  return {
    transport,
    sockets,
    requests,
    /** The most recent socket. */
    get last(): FakeSocket {
      const socket = sockets.at(-1)
      if (!socket) throw new Error('no socket was opened')
      return socket
    },
    /** Requests of type `t` (optionally on channel `ch`). */
    sentOf(t: string, ch?: string) {
      return requests.filter((request) => request.frame.t === t && (ch === undefined || request.frame.ch === ch))
    },
  }
}

/** Runs microtasks and the timers due within `ms` (fake timers). */
export function settle(ms = 0): Promise<void> {
  return vi.advanceTimersByTimeAsync(ms).then(() => {})
}

/** Fake timers and clock for one test file (microtasks stay real). */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
}

/**
 * Fake timers for the test file, and a function making clients of a fake server (reconnects after
 * 100 ms by default), disconnected after each test.
 */
export function fakeClients(defaults: Partial<RealtimeClientOptions> = {}) {
  const clients: RealtimeClient[] = []
  beforeEach(useFakeClock)
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
  return (server: ReturnType<typeof fakeServer>, options: Partial<RealtimeClientOptions> = {}): RealtimeClient => {
    const client = createRealtimeClient({
      transport: server.transport,
      reconnect: { initialDelayMs: 100, maxDelayMs: 100 },
      ...defaults,
      ...options,
    })
    clients.push(client)
    return client
  }
}
