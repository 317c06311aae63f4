import type { Duplex } from 'node:stream'
import { CloseCodes } from '@tanstack/realtime'
import type { ConnectionSink, EngineConnection, Frame } from '@tanstack/realtime/server'
import { WebSocket } from 'ws'
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

/** The most bytes handed to the TCP socket at once: the rest waits in the writer, where it can be dropped. */
const MAX_BATCH_BYTES = 64 * 1024
const EMPTY = Buffer.alloc(0)

/**
 * The `ws` socket class the server creates: before any close frame leaves (whoever closes: the
 * engine, or `ws` itself on an oversized frame, bad UTF-8 or a protocol error), the frames queued
 * for the socket are written, so answers already given are not lost.
 *
 * @internal
 */
export class RealtimeWebSocket extends WebSocket {
  writer: SocketWriter | undefined = undefined

  override close(code?: number, data?: string | Buffer): void {
    this.writer?.closing(code)
    super.close(code, data)
  }
}

/** What every socket of one server shares. */
export interface WriterSettings {
  scheduler: FlushScheduler
  /** Unsent bytes past which a socket is closed as a slow consumer (4008). */
  maxBufferedBytes: number
  /** The id-less `err` sent before `ws` closes a socket with 1009 (a frame over its `maxPayload`). */
  frameTooLarge: Frame
}

/**
 * The engine's sink for one `ws` socket. Frames go straight to the TCP socket (already encoded,
 * shared by every subscriber); `ws` still owns reading, pings and the close handshake.
 *
 * Node holds what the operating system does not take yet; the writer hands it at most one batch at
 * a time and keeps the rest, so a slow consumer's backlog stays here: when it passes
 * `maxBufferedBytes` it is dropped and the 4008 close frame follows at most one batch.
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
  /** A batch is in Node's buffer, not yet taken by the operating system. */
  #writing = false
  #closed = false

  constructor(
    readonly ws: RealtimeWebSocket,
    readonly socket: Duplex,
    readonly settings: WriterSettings,
  ) {
    ws.writer = this
  }

  send(frame: Frame): void {
    if (this.#closed) return
    const bytes = encodeTextFrame(frame)
    this.#queuedBytes += bytes.length
    if (this.#queuedBytes + this.socket.writableLength > this.settings.maxBufferedBytes) {
      // A slow consumer: drop what it has not been sent, so the close frame reaches it next; it
      // reconnects and resumes. The engine lets go of it now (not from inside this broadcast).
      this.#drop()
      this.close(CloseCodes.SlowConsumer, 'slow consumer')
      queueMicrotask(() => this.conn?.closed(CloseCodes.SlowConsumer))
      return
    }
    if (this.#first === null) {
      this.#first = bytes
      if (!this.#writing) this.settings.scheduler.mark(this)
    } else if (this.#rest === null) this.#rest = [bytes]
    else this.#rest.push(bytes)
  }

  /** Hands the socket the next batch, unless it still holds the previous one. */
  flush(): void {
    if (!this.#writing) this.#write(MAX_BATCH_BYTES)
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.#writeAll()
    this.ws.close(code, reason)
  }

  /**
   * `ws` closes the socket on its own (an oversized frame, bad UTF-8, a protocol error, or it answers
   * the client's close): what is queued goes before the close frame, and an oversized frame gets the
   * `err` the protocol promises.
   */
  closing(code: number | undefined): void {
    if (this.#closed) return
    if (code === CloseCodes.MessageTooBig && this.conn) this.send(this.settings.frameTooLarge)
    this.#writeAll()
  }

  /** Writes everything queued (before a close frame), then stops writing. */
  #writeAll() {
    this.#write(Number.POSITIVE_INFINITY)
    this.#closed = true
  }

  /** The socket closed: stop writing. */
  closed(): void {
    this.#closed = true
    this.#drop()
  }

  /** Writes queued frames, up to `limit` bytes (at least one frame), in one `writev`. */
  #write(limit: number) {
    const first = this.#first
    if (first === null) return
    // ws may have closed the connection itself (1009 for an oversized frame): no data after its close frame.
    if (this.socket.destroyed || this.socket.writableEnded || this.ws.readyState !== WebSocket.OPEN) {
      this.#drop()
      return
    }
    const rest = this.#rest
    if (rest === null) {
      this.#drop()
      this.socket.write(first)
    } else {
      let written = first.length
      let count = 0
      while (count < rest.length && written < limit) written += (rest[count++] as Buffer).length
      this.socket.cork()
      this.socket.write(first)
      for (let i = 0; i < count; i++) this.socket.write(rest[i] as Buffer)
      this.socket.uncork()
      if (count === rest.length) this.#drop()
      else {
        this.#first = rest[count] as Buffer
        this.#rest = count + 1 < rest.length ? rest.slice(count + 1) : null
        this.#queuedBytes -= written
      }
    }
    // The OS did not take it all, or more is queued: continue once Node's buffer has been written.
    if (this.socket.writableLength > 0 || this.#first !== null) {
      this.#writing = true
      this.socket.write(EMPTY, this.#written)
    }
  }

  readonly #written = (error?: Error | null) => {
    this.#writing = false
    if (!error && !this.#closed) this.flush()
  }

  #drop() {
    this.#first = null
    this.#rest = null
    this.#queuedBytes = 0
  }
}
