import { Frame } from '../../src/server/frame.js'
import { MemoryChannelStore } from '../../src/server/memory/memory-channel-store.js'
import type { Session } from '../../src/server/session/session.js'
import { channelLogContract } from './contracts/channel-log.contract.js'
import { memberStoreContract } from './contracts/member-store.contract.js'

// The ports' contracts against the memory store (the Node server's default).

const inMemoryOnly = () => Promise.reject(new Error('A memory store does not outlive its instance.'))

channelLogContract(
  'memory',
  async ({ ch, historySize }) => {
    const store = new MemoryChannelStore({ historySize })
    const { log } = store.open(ch)
    return {
      position: async () => log.position(),
      async append(dataJson, idem) {
        const { seq, epoch, frame } = log.append(dataJson, idem)
        return { seq, epoch, frame: frame?.text }
      },
      async read(after, limit) {
        const { position, messages } = log.read(after, limit)
        return { position, messages: messages.map(({ seq, frame }) => ({ seq, frame: frame.text })) }
      },
      find: async (idem) => log.find(idem),
      reopen: inMemoryOnly,
      dispose: async () => store.close(),
    }
  },
  { persistent: false },
)

memberStoreContract(
  'memory',
  async () => {
    const store = new MemoryChannelStore()
    const { members } = store.open('["room"]')
    const sessions = new Map<string, Session>()
    const names = new Map<Session, string>()
    const sent: Record<string, string[]> = {}
    const session = (conn: string) => sessions.get(conn) as Session
    return {
      async connect(conn, cid, uid) {
        sent[conn] = []
        const made = { id: cid, userId: uid, send: (frame: Frame) => sent[conn]?.push(frame.text) }
        sessions.set(conn, made as unknown as Session)
        names.set(made as unknown as Session, conn)
      },
      list: async () => members.list(),
      state: async (conn) => members.state(session(conn)),
      join: async (conn, state) => members.join(session(conn), state),
      update: async (conn, state) => members.update(session(conn), state),
      leave: async (conn) => members.leave(session(conn)),
      release: async (conn, until) => members.release(session(conn), until),
      async claim(cid, conn, until) {
        // As a takeover does: the claiming session takes the connection id first.
        session(conn).id = cid
        return members.claim(cid, session(conn), until)
      },
      async expire(now) {
        const { expired, next } = members.expire(now)
        return {
          expired: expired.map(({ cid, owner }) => ({ cid, owner: owner ? (names.get(owner) ?? '?') : null })),
          next,
        }
      },
      announce: async (text, except) =>
        members.announce(new Frame(text), except === null ? undefined : session(except)),
      sent: async () => sent,
      reopen: inMemoryOnly,
      dispose: async () => store.close(),
    }
  },
  { persistent: false },
)
