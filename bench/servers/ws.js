// @ts-check
/**
 * (b) The plain-`ws` baseline: what a careful developer writes by hand. One Map of channel ->
 * sockets; every broadcast is serialized once (JSON.stringify) and `ws.send` to each socket. It
 * speaks the same JSON frames as ours (sub/pub/pjoin/pset, acks, msg/pres), so the same client
 * drives both, but with no auth, limits, history, resume or validation.
 */
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { serve } from './harness.js'

/** @typedef {import('ws').WebSocket} WebSocket */

/** @type {Map<string, Set<WebSocket>>} channel -> subscribed sockets */
const channels = new Map()
/** @type {Map<string, number>} channel -> last sequence number */
const seqs = new Map()
/** @type {Map<string, Map<WebSocket, {cid: string, state: Record<string, unknown>}>>} channel -> members */
const presence = new Map()
let nextCid = 0

const httpServer = http.createServer((_req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false, clientTracking: false })

/**
 * @param {Iterable<WebSocket>} sockets
 * @param {string} text
 * @param {WebSocket} [except]
 */
function broadcast(sockets, text, except) {
  for (const socket of sockets) if (socket !== except) socket.send(text)
}

wss.on('connection', (ws) => {
  const cid = `c${++nextCid}`
  /** @type {Set<string>} */
  const subscribed = new Set()
  /** @type {Set<string>} */
  const present = new Set()
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data))
    const { id, ch } = frame
    switch (frame.t) {
      case 'sub': {
        let sockets = channels.get(ch)
        if (!sockets) {
          sockets = new Set()
          channels.set(ch, sockets)
        }
        sockets.add(ws)
        subscribed.add(ch)
        ws.send(`{"t":"ack","id":${id}}`)
        break
      }
      case 'pub': {
        const seq = (seqs.get(ch) ?? 0) + 1
        seqs.set(ch, seq)
        const sockets = channels.get(ch)
        if (sockets) broadcast(sockets, JSON.stringify({ t: 'msg', ch, seq, data: frame.data }))
        ws.send(`{"t":"ack","id":${id},"seq":${seq}}`)
        break
      }
      case 'pjoin': {
        let members = presence.get(ch)
        if (!members) {
          members = new Map()
          presence.set(ch, members)
        }
        const member = { cid, state: frame.state }
        members.set(ws, member)
        present.add(ch)
        broadcast(members.keys(), JSON.stringify({ t: 'pres', ch, ev: 'join', m: member }), ws)
        ws.send(JSON.stringify({ t: 'ack', id, members: [...members.values()] }))
        break
      }
      case 'pset': {
        const members = presence.get(ch)
        const member = members?.get(ws)
        if (members && member) {
          member.state = { ...member.state, ...frame.patch }
          broadcast(members.keys(), JSON.stringify({ t: 'pres', ch, ev: 'update', cid, patch: frame.patch }), ws)
        }
        ws.send(`{"t":"ack","id":${id}}`)
        break
      }
    }
  })
  ws.on('close', () => {
    for (const ch of subscribed) {
      const sockets = channels.get(ch)
      sockets?.delete(ws)
      if (sockets?.size === 0) channels.delete(ch)
    }
    for (const ch of present) {
      const members = presence.get(ch)
      if (!members?.delete(ws)) continue
      broadcast(members.keys(), JSON.stringify({ t: 'pres', ch, ev: 'leave', cid }))
    }
  })
})

serve(httpServer)
