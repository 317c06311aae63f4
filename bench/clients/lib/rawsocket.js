// @ts-check
/**
 * A minimal WebSocket client over `net`, built to be as cheap as possible so the load generator is
 * never the bottleneck: the handshake is one hand-written request, outgoing frames are masked with
 * the all-zero key (valid per RFC 6455: XOR with 0), and incoming frames are handed over as
 * (buffer, start, end) without copying, decoding or validating UTF-8. The caller decides which
 * frames are worth decoding.
 */
import net from 'node:net'

const HEADER_END = Buffer.from('\r\n\r\n')
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

/**
 * @typedef {object} RawSocketOptions
 * @property {number} port
 * @property {string} path path and query of the upgrade request
 * @property {(buf: Buffer, start: number, end: number) => void} onText one text frame's payload
 * @property {() => void} [onClose]
 */

export class RawSocket {
  /** @type {Buffer | null} */
  #pending = null
  #open = false
  /** @type {net.Socket} */
  socket

  /** @param {RawSocketOptions} options */
  constructor(options) {
    this.options = options
    this.socket = net.connect({ port: options.port, host: '127.0.0.1', noDelay: true })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.#open = false
      options.onClose?.()
    })
  }

  /** Resolves once the server answered 101 (frames right behind the 101 are already handled). */
  opened() {
    const { socket, options } = this
    return new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`connection to :${options.port}${options.path} failed`))
      socket.once('close', fail)
      socket.once('connect', () => {
        socket.write(
          `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        )
      })
      /** @param {Buffer} chunk */
      const onHandshake = (chunk) => {
        const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk
        const end = buf.indexOf(HEADER_END)
        if (end === -1) {
          this.#pending = buf
          return
        }
        this.#pending = null
        socket.off('data', onHandshake)
        socket.off('close', fail)
        const status = buf.toString('latin1', 0, Math.min(end, 200)).split('\r\n')[0] ?? ''
        if (!status.startsWith('HTTP/1.1 101')) {
          socket.destroy()
          reject(new Error(`upgrade refused: ${status}`))
          return
        }
        this.#open = true
        socket.on('data', (/** @type {Buffer} */ data) => this.#onData(data))
        resolve(undefined)
        if (end + 4 < buf.length) this.#onData(buf.subarray(end + 4))
      }
      socket.on('data', onHandshake)
    })
  }

  get open() {
    return this.#open
  }

  /** @param {string} text */
  send(text) {
    if (!this.#open) return
    const length = Buffer.byteLength(text)
    const header = length < 126 ? 6 : length < 65_536 ? 8 : 14
    const frame = Buffer.allocUnsafe(header + length)
    frame[0] = 0x81
    if (length < 126) frame[1] = 0x80 | length
    else if (length < 65_536) {
      frame[1] = 0x80 | 126
      frame.writeUInt16BE(length, 2)
    } else {
      frame[1] = 0x80 | 127
      frame.writeUInt32BE(0, 2)
      frame.writeUInt32BE(length, 6)
    }
    frame.writeUInt32BE(0, header - 4) // the all-zero masking key
    frame.write(text, header, 'utf8')
    this.socket.write(frame)
  }

  close() {
    this.#open = false
    this.socket.destroy()
  }

  /**
   * @param {number} opcode
   * @param {Buffer} payload
   */
  #control(opcode, payload) {
    const frame = Buffer.alloc(6 + payload.length)
    frame[0] = 0x80 | opcode
    frame[1] = 0x80 | payload.length
    payload.copy(frame, 6)
    this.socket.write(frame)
  }

  /** @param {Buffer} chunk */
  #onData(chunk) {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk
    let offset = 0
    const size = buf.length
    while (size - offset >= 2) {
      const b0 = /** @type {number} */ (buf[offset])
      let length = /** @type {number} */ (buf[offset + 1]) & 0x7f
      let header = 2
      if (length === 126) {
        if (size - offset < 4) break
        length = buf.readUInt16BE(offset + 2)
        header = 4
      } else if (length === 127) {
        if (size - offset < 10) break
        length = buf.readUInt32BE(offset + 6)
        header = 10
      }
      const end = offset + header + length
      if (end > size) break
      if ((b0 & 0x80) === 0) throw new Error('fragmented frames are not expected from bench servers')
      const opcode = b0 & 0x0f
      if (opcode === 1) this.options.onText(buf, offset + header, end)
      else if (opcode === 9) this.#control(10, buf.subarray(offset + header, end))
      else if (opcode === 8) this.close()
      offset = end
    }
    this.#pending = offset < size ? buf.subarray(offset) : null
  }
}
