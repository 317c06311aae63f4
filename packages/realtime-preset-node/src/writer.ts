import type { Duplex } from 'node:stream'
import { CloseCodes } from '@tanstack/realtime'
import type { ConnectionSink, EngineConnection, Frame } from '@tanstack/realtime/server'
import type { WebSocket } from 'ws'
import { encodeTextFrame } from './frames.js'

/**
 * Coalesces every frame sent to any socket within one event-loop turn: frames are queued per
 * socket and flushed together in one `setImmediate`, each socket's batch leaving in one `writev`
 * (cork/uncork) instead of one system call per frame.
 *
 * @internal
 */
export class FlushScheduler {
  readonly #dirty = new Set<SocketWriter>()
  #scheduled = false

  mark(writer: SocketWriter): void {
    this.#dirty.add(writer)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flush)
    }
  }

  readonly #flush = () => {
    this.#scheduled = false
    for (const writer of this.#dirty) writer.flush()
    this.#dirty.clear()
  }
}

/**
 * The engine's sink for one `ws` socket. Frames go straight to the TCP socket (already encoded,
 * shared by every subscriber); `ws` still owns reading, pings and the close handshake.
 *
 * The queue is one slot plus an overflow array, so the common case (one frame per socket per
 * turn) allocates nothing per frame or per flush.
 *
 * @internal
 */
export class SocketWriter implements ConnectionSink {
  /** The engine's connection for this socket (set once connected). */
  conn: EngineConnection | undefined = undefined
  /** Answered the last heartbeat ping. */
  alive = true
  #first: Buffer | null = null
  #rest: Buffer[] | null = null
  #queuedBytes = 0
  #closed = false

  constructor(
    readonly ws: WebSocket,
    readonly socket: Duplex,
    readonly scheduler: FlushScheduler,
    readonly maxBufferedBytes: number,
  ) {}

  send(frame: Frame): void {
    if (this.#closed) return
    const bytes = encodeTextFrame(frame)
    this.#queuedBytes += bytes.length
    if (this.#queuedBytes + this.socket.writableLength > this.maxBufferedBytes) {
      // A slow consumer: drop what is queued and let the client reconnect and resume.
      this.#drop()
      this.close(CloseCodes.SlowConsumer, 'slow consumer')
      setTimeout(() => this.ws.terminate(), 2000).unref()
      return
    }
    if (this.#first === null) {
      this.#first = bytes
      this.scheduler.mark(this)
    } else if (this.#rest === null) this.#rest = [bytes]
    else this.#rest.push(bytes)
  }

  flush(): void {
    const first = this.#first
    if (first === null) return
    const rest = this.#rest
    this.#drop()
    // ws may have closed the connection itself (1009 for an oversized frame): no data after its close frame.
    if (this.socket.destroyed || this.socket.writableEnded || this.ws.readyState !== this.ws.OPEN) return
    if (rest === null) {
      this.socket.write(first)
      return
    }
    this.socket.cork()
    this.socket.write(first)
    for (const bytes of rest) this.socket.write(bytes)
    this.socket.uncork()
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.flush()
    this.#closed = true
    this.ws.close(code, reason)
  }

  /** The socket closed: stop writing. */
  closed(): void {
    this.#closed = true
    this.#drop()
  }

  #drop() {
    this.#first = null
    this.#rest = null
    this.#queuedBytes = 0
  }
}
