import type { Duplex } from 'node:stream'
import { CloseCodes } from '@tanstack/realtime'
import type { ConnectionSink, Frame } from '@tanstack/realtime/server'
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
 * @internal
 */
export class SocketWriter implements ConnectionSink {
  #queue: Buffer[] = []
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
    this.#queue.push(bytes)
    this.#queuedBytes += bytes.length
    if (this.#queuedBytes + this.socket.writableLength > this.maxBufferedBytes) {
      // A slow consumer: drop what is queued and let the client reconnect and resume.
      this.#queue = []
      this.#queuedBytes = 0
      this.close(CloseCodes.SlowConsumer, 'slow consumer')
      setTimeout(() => this.ws.terminate(), 2000).unref()
      return
    }
    if (this.#queue.length === 1) this.scheduler.mark(this)
  }

  flush(): void {
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    this.#queuedBytes = 0
    if (this.socket.destroyed || this.socket.writableEnded) return
    if (queue.length === 1) {
      this.socket.write(queue[0] as Buffer)
      return
    }
    this.socket.cork()
    for (const bytes of queue) this.socket.write(bytes)
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
    this.#queue = []
    this.#queuedBytes = 0
  }
}
