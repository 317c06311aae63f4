// @ts-check
/**
 * (c) Socket.IO 4.8 with rooms, WebSocket transport only (no polling), no compression. Same
 * operations as the others: `sub` joins a room, `pub` broadcasts to it with `io.to(room).emit`
 * (Socket.IO encodes a broadcast once), presence keeps a Map per room and sends diffs with
 * `socket.to(room).emit` (everyone but the sender). Every request is acknowledged. With REDIS_URL (the
 * scale-out workloads), one of several processes joined by `@socket.io/redis-adapter` over node-redis.
 */
import http from 'node:http'
import { createClient } from '@redis/client'
import { createAdapter } from '@socket.io/redis-adapter'
import { Server } from 'socket.io'
import { serve } from './harness.js'

const httpServer = http.createServer()
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  cors: { origin: false },
})

if (process.env.REDIS_URL) {
  const pubClient = createClient({ url: process.env.REDIS_URL })
  const subClient = pubClient.duplicate()
  await Promise.all([pubClient.connect(), subClient.connect()])
  io.adapter(createAdapter(pubClient, subClient))
}

/** @type {Map<string, number>} */
const seqs = new Map()
/** @type {Map<string, Map<string, {cid: string, state: Record<string, unknown>}>>} */
const presence = new Map()

/** @param {unknown} ack */
const callback = (ack) => (typeof ack === 'function' ? ack : () => {})

io.on('connection', (socket) => {
  /** @type {Set<string>} */
  const present = new Set()
  socket.on('sub', (ch, ack) => {
    socket.join(ch)
    callback(ack)()
  })
  socket.on('pub', (ch, data, ack) => {
    const seq = (seqs.get(ch) ?? 0) + 1
    seqs.set(ch, seq)
    io.to(ch).emit('msg', { ch, seq, data })
    callback(ack)(seq)
  })
  socket.on('pjoin', (ch, state, ack) => {
    let members = presence.get(ch)
    if (!members) {
      members = new Map()
      presence.set(ch, members)
    }
    const member = { cid: socket.id, state }
    members.set(socket.id, member)
    present.add(ch)
    socket.join(ch)
    socket.to(ch).emit('pres', { ch, ev: 'join', m: member })
    callback(ack)([...members.values()])
  })
  socket.on('pset', (ch, patch, ack) => {
    const member = presence.get(ch)?.get(socket.id)
    if (member) {
      member.state = { ...member.state, ...patch }
      socket.to(ch).emit('pres', { ch, ev: 'update', cid: socket.id, patch })
    }
    callback(ack)()
  })
  socket.on('disconnect', () => {
    for (const ch of present) {
      if (presence.get(ch)?.delete(socket.id)) socket.to(ch).emit('pres', { ch, ev: 'leave', cid: socket.id })
    }
  })
})

serve(httpServer)
