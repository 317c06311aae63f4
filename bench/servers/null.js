// @ts-check
/**
 * The client-capacity check, not a contestant: the cheapest server that speaks the fan-out subset
 * of the JSON protocol (sub, pub). No `ws`: the handshake and frames are done by hand, each
 * broadcast is encoded once into a WebSocket frame and every socket's frames of one event-loop
 * turn leave in one write. If the bench clients deliver more messages/s against this server than
 * against any contestant, the clients were not what limited the contestants.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import { serve } from './harness.js'

/** @typedef {import('node:stream').Duplex} Duplex */

/** @type {Map<string, Set<Duplex>>} */
const channels = new Map()
/** @type {Map<Duplex, Buffer[]>} */
const queues = new Map()
let scheduled = false

/** @param {string} text */
function encode(text) {
  const payload = Buffer.from(text)
  const header = payload.length < 126 ? 2 : 4
  const frame = Buffer.allocUnsafe(header + payload.length)
  frame[0] = 0x81
  if (header === 2) frame[1] = payload.length
  else {
    frame[1] = 126
    frame.writeUInt16BE(payload.length, 2)
  }
  payload.copy(frame, header)
  return frame
}

function flush() {
  scheduled = false
  for (const [socket, queue] of queues) {
    socket.cork()
    for (const frame of queue) socket.write(frame)
    socket.uncork()
  }
  queues.clear()
}

/**
 * @param {Duplex} socket
 * @param {Buffer} frame
 */
function send(socket, frame) {
  const queue = queues.get(socket)
  if (queue) queue.push(frame)
  else queues.set(socket, [frame])
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
}

/**
 * @param {Duplex} socket
 * @param {string} text
 */
function onText(socket, text) {
  const frame = JSON.parse(text)
  if (frame.t === 'sub') {
    let sockets = channels.get(frame.ch)
    if (!sockets) {
      sockets = new Set()
      channels.set(frame.ch, sockets)
    }
    sockets.add(socket)
    send(socket, encode(`{"t":"ack","id":${frame.id}}`))
  } else if (frame.t === 'pub') {
    const bytes = encode(JSON.stringify({ t: 'msg', ch: frame.ch, seq: 0, data: frame.data }))
    for (const subscriber of channels.get(frame.ch) ?? []) send(subscriber, bytes)
    send(socket, encode(`{"t":"ack","id":${frame.id}}`))
  }
}

const httpServer = http.createServer((_req, res) => res.writeHead(404).end())
httpServer.on('upgrade', (req, socket) => {
  const accept = createHash('sha1')
    .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`)
    .digest('base64')
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
  /** @type {Buffer | null} */
  let pending = null
  socket.on('data', (/** @type {Buffer} */ chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk
    let offset = 0
    while (buf.length - offset >= 6) {
      let length = (buf[offset + 1] ?? 0) & 0x7f
      let header = 2
      if (length === 126) {
        length = buf.readUInt16BE(offset + 2)
        header = 4
      } else if (length === 127) {
        length = buf.readUInt32BE(offset + 6)
        header = 10
      }
      if (buf.length - offset < header + 4 + length) break
      const opcode = (buf[offset] ?? 0) & 0x0f
      const mask = buf.subarray(offset + header, offset + header + 4)
      const payload = Buffer.from(buf.subarray(offset + header + 4, offset + header + 4 + length))
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0)
      if (opcode === 1) onText(socket, payload.toString())
      else if (opcode === 8) socket.end()
      offset += header + 4 + length
    }
    pending = offset < buf.length ? buf.subarray(offset) : null
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    for (const sockets of channels.values()) sockets.delete(socket)
    queues.delete(socket)
  })
})

serve(httpServer)
