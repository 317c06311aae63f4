import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { channelLogContract } from '../../realtime/tests/server/contracts/channel-log.contract.js'
import { memberStoreContract } from '../../realtime/tests/server/contracts/member-store.contract.js'
import { bundleWorker, httpRequest, startWorkerd } from './support/workerd.js'

// The ports' contracts against the Durable Object's: the log over storage, the members over socket
// attachments and the grace record, in real workerd (tests/fixtures/ports-worker.ts).

let worker: Awaited<ReturnType<typeof startWorkerd>> | undefined
beforeAll(async () => {
  const script = await bundleWorker(join(import.meta.dirname, 'fixtures/ports-worker.ts'))
  worker = await startWorkerd(script, { durableObjects: { PROBE: 'PortsProbe' } })
})
afterAll(() => worker?.mf.dispose())

let objects = 0

/** One Durable Object of the probe, called by operation name. */
function probe() {
  const name = `probe-${++objects}`
  return async (op: string, ...args: unknown[]): Promise<any> => {
    const response = await httpRequest(`http://127.0.0.1:${worker?.port}/${name}`, {
      method: 'POST',
      body: JSON.stringify({ op, args }),
    })
    const body = response.json() as { result?: unknown; error?: string }
    if (body.error) throw new Error(body.error)
    // JSON has no undefined: the probe answers null for it.
    return body.result ?? undefined
  }
}

channelLogContract(
  'Durable Object storage',
  async ({ ch, historySize }) => {
    const call = probe()
    await call('log.open', ch, historySize)
    return {
      position: () => call('log.position'),
      append: (dataJson, idem) => call('log.append', dataJson, idem),
      read: (after, limit) => call('log.read', after, limit),
      find: (idem) => call('log.find', idem),
      reopen: () => call('log.reopen'),
      dispose: () => call('dispose'),
    }
  },
  { persistent: true },
)

memberStoreContract(
  'Durable Object attachments and storage',
  async () => {
    const call = probe()
    await call('members.open')
    return {
      connect: (conn, cid, uid) => call('members.connect', conn, cid, uid),
      list: () => call('members.list'),
      state: (conn) => call('members.state', conn),
      join: (conn, state) => call('members.join', conn, state),
      update: (conn, state) => call('members.update', conn, state),
      leave: (conn) => call('members.leave', conn),
      release: (conn, until) => call('members.release', conn, until),
      claim: (cid, conn, until) => call('members.claim', cid, conn, until),
      async expire(now) {
        const { expired, next } = await call('members.expire', now)
        return { expired, next: next ?? undefined }
      },
      announce: (frame, except) => call('members.announce', frame, except),
      sent: () => call('members.sent'),
      reopen: () => call('members.reopen'),
      dispose: () => call('dispose'),
    }
  },
  { persistent: true },
)
