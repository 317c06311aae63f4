// @ts-check
/**
 * One bench connection, speaking the wire protocol of the server under test over a
 * {@link RawSocket}:
 * - `ours`: TanStack Realtime's JSON frames (`/_realtime?v=1&token=…`, waits for `hello`);
 * - `ws` and `null`: the same JSON frames (those baselines implement the subset the bench uses);
 * - `socketio`: Engine.IO 4 / Socket.IO 5 packets (`0{…}` open, `40` namespace connect, `42N[…]`
 *   events with ack ids, `43N[…]` acks, `2`/`3` ping/pong), i.e. what socket.io-client sends.
 *
 * Broadcast frames (`msg`, `pres`) are never JSON-parsed: the payload always starts with
 * `{"i":<id>,"ts":<µs>` and those two integers are read straight from the bytes, so a delivery
 * costs the client a few hundred nanoseconds.
 */
import { RawSocket } from './rawsocket.js'

const I_MARK = Buffer.from('"i":')
const ACK_PREFIX = '{"t":"ack","id":'.length

/**
 * Called for every broadcast carrying a bench payload.
 * @typedef {(i: number, ts: number, bytes: number) => void} OnData
 */

let connections = 0

export class BenchClient {
  #nextId = 1
  /** @type {Map<number, {resolve: (value?: unknown) => void, reject: (error: Error) => void}>} */
  #pending = new Map()
  /** @type {(() => void) | undefined} */
  #ready
  /** @type {Promise<void>} */
  #readyPromise
  errors = 0

  /**
   * @param {'ours' | 'ws' | 'null' | 'socketio'} server
   * @param {number} port
   * @param {OnData} onData
   */
  constructor(server, port, onData) {
    this.server = server
    this.sio = server === 'socketio'
    this.onData = onData
    const path =
      server === 'ours'
        ? `/_realtime?v=1&token=u${++connections}`
        : server === 'socketio'
          ? '/socket.io/?EIO=4&transport=websocket'
          : '/'
    this.#readyPromise = new Promise((resolve) => {
      this.#ready = () => resolve(undefined)
    })
    this.raw = new RawSocket({
      port,
      path,
      onText: this.sio
        ? (buf, start, end) => this.#sioText(buf, start, end)
        : (buf, start, end) => this.#json(buf, start, end),
      onClose: () => {
        for (const { reject } of this.#pending.values()) reject(new Error('connection closed'))
        this.#pending.clear()
      },
    })
  }

  /** Connects and waits until the server is ready for requests. */
  async connect() {
    await this.raw.opened()
    if (this.server === 'ws' || this.server === 'null') this.#ready?.()
    await this.#readyPromise
  }

  /** @param {string} ch */
  subscribe(ch) {
    const id = this.#nextId++
    const chJson = JSON.stringify(ch)
    this.raw.send(this.sio ? `42${id}["sub",${chJson}]` : `{"t":"sub","id":${id},"ch":${chJson}}`)
    return this.#wait(id)
  }

  /**
   * Fire and forget (the server still acks; the ack is skipped cheaply).
   * @param {string} chJson `JSON.stringify(channel)`
   * @param {string} dataJson
   */
  publish(chJson, dataJson) {
    const id = this.#nextId++
    this.raw.send(
      this.sio ? `42${id}["pub",${chJson},${dataJson}]` : `{"t":"pub","id":${id},"ch":${chJson},"data":${dataJson}}`,
    )
  }

  /**
   * @param {string} ch
   * @param {string} stateJson
   */
  join(ch, stateJson) {
    const id = this.#nextId++
    const chJson = JSON.stringify(ch)
    this.raw.send(
      this.sio
        ? `42${id}["pjoin",${chJson},${stateJson}]`
        : `{"t":"pjoin","id":${id},"ch":${chJson},"state":${stateJson}}`,
    )
    return this.#wait(id)
  }

  /**
   * Resolves on the server's ack.
   * @param {string} chJson
   * @param {string} patchJson
   */
  update(chJson, patchJson) {
    const id = this.#nextId++
    this.raw.send(
      this.sio
        ? `42${id}["pset",${chJson},${patchJson}]`
        : `{"t":"pset","id":${id},"ch":${chJson},"patch":${patchJson}}`,
    )
    return this.#wait(id)
  }

  close() {
    this.raw.close()
  }

  /** @param {number} id */
  #wait(id) {
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }))
  }

  /**
   * @param {number} id
   * @param {Error} [error]
   */
  #settle(id, error) {
    const pending = this.#pending.get(id)
    if (!pending) return
    this.#pending.delete(id)
    if (error) pending.reject(error)
    else pending.resolve()
  }

  /**
   * Reads `"i":<int>,"ts":<int>` from a broadcast frame's bytes.
   * @param {Buffer} buf
   * @param {number} start
   * @param {number} end
   */
  #scan(buf, start, end) {
    let p = buf.indexOf(I_MARK, start)
    if (p === -1 || p >= end) return // e.g. a presence `join`: no bench payload
    p += 4
    let i = 0
    let c = /** @type {number} */ (buf[p])
    while (c >= 48 && c <= 57) {
      i = i * 10 + c - 48
      c = /** @type {number} */ (buf[++p])
    }
    if (c !== 44 || buf[p + 2] !== 116 || buf[p + 3] !== 115) {
      this.errors++ // not `,"ts":`: the payload layout is not what the bench sent
      return
    }
    p += 6
    let ts = 0
    c = /** @type {number} */ (buf[p])
    while (c >= 48 && c <= 57) {
      ts = ts * 10 + c - 48
      c = /** @type {number} */ (buf[++p])
    }
    this.onData(i, ts, end - start)
  }

  /**
   * TanStack Realtime / plain-ws JSON frames.
   * @param {Buffer} buf
   * @param {number} start
   * @param {number} end
   */
  #json(buf, start, end) {
    const kind = buf[start + 6] // the first letter of the "t" value in `{"t":"…`
    if (kind === 109 /* m: msg */ || (kind === 112 /* p: pres */ && buf[start + 7] === 114)) {
      this.#scan(buf, start, end)
      return
    }
    if (kind === 97 /* a: ack */) {
      let p = start + ACK_PREFIX
      let id = 0
      let c = /** @type {number} */ (buf[p])
      while (c >= 48 && c <= 57) {
        id = id * 10 + c - 48
        c = /** @type {number} */ (buf[++p])
      }
      this.#settle(id)
      return
    }
    const frame = JSON.parse(buf.toString('utf8', start, end))
    if (frame.t === 'hello') this.#ready?.()
    else if (frame.t === 'err') {
      this.errors++
      if (frame.id) this.#settle(frame.id, new Error(`${frame.code}: ${frame.msg}`))
      else console.error('[bench client] server error', frame)
    }
  }

  /**
   * Engine.IO / Socket.IO packets.
   * @param {Buffer} buf
   * @param {number} start
   * @param {number} end
   */
  #sioText(buf, start, end) {
    const engine = buf[start]
    if (engine === 52 /* 4: message */) {
      const packet = buf[start + 1]
      if (packet === 50 /* 2: event */) this.#scan(buf, start, end)
      else if (packet === 51 /* 3: ack */) {
        let p = start + 2
        let id = 0
        let c = /** @type {number} */ (buf[p])
        while (c >= 48 && c <= 57) {
          id = id * 10 + c - 48
          c = /** @type {number} */ (buf[++p])
        }
        this.#settle(id)
      } else if (packet === 48 /* 0: namespace connected */) this.#ready?.()
      else {
        this.errors++
        console.error('[bench client] socket.io packet', buf.toString('utf8', start, end))
      }
    } else if (engine === 48 /* 0: open */) this.raw.send('40')
    else if (engine === 50 /* 2: ping */) this.raw.send('3')
  }
}
