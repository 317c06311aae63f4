/**
 * One retry policy: reconnects, resubscribes, presence joins and live collections' snapshot reloads
 * all wait `backoffDelay(attempt, reconnect)`: equal jitter, here with the random half at its top
 * (Math.random() = 1), so the delays are the ceilings 100, 200, 400, 400 ms.
 */
import { createCollection } from '@tanstack/db'
import { getPresence, liveCollectionOptions } from '@tanstack/realtime'
import { beforeEach, expect, test, vi } from 'vitest'
import { fakeClients, fakeServer, settle } from './fake-server.js'

const make = fakeClients()
beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(1)
})

const reconnect = { initialDelayMs: 100, factor: 2, maxDelayMs: 400 }
const expected = [100, 200, 400, 400]

/** The gaps between consecutive times. */
const gaps = (times: number[]) => times.slice(1).map((time, i) => time - (times[i] as number))

/** A server that answers requests of type `t` with a retryable error, `failures` times. */
function failing(t: string, failures: number) {
  let left = failures
  return fakeServer({
    respond: (frame) =>
      frame.t === t && left-- > 0 ? { t: 'err', id: frame.id, code: 'internal', msg: 'try again' } : undefined,
  })
}

test('reconnects wait the backoff', async () => {
  const opened: number[] = []
  const server = fakeServer({
    accept: () => {
      opened.push(Date.now())
      return opened.length <= expected.length ? 1006 : 'hello'
    },
  })
  const client = make(server, { reconnect })
  client.connect()
  await settle(2000)
  expect(gaps(opened)).toEqual(expected)
  expect(client.status.getSnapshot()).toBe('connected')
})

test('a retryable subscribe failure is retried with the same backoff', async () => {
  const server = failing('sub', expected.length)
  const client = make(server, { reconnect })
  const subscription = client.subscribe(['chat'], () => {})
  await settle(2000)
  expect(gaps(server.sentOf('sub').map((request) => request.at))).toEqual(expected)
  expect(subscription.state.getSnapshot().status).toBe('live')
})

test('a retryable presence join failure is retried with the same backoff (not failed for good)', async () => {
  const server = failing('pjoin', expected.length)
  const client = make(server, { reconnect })
  const presence = getPresence(client, ['room'])
  presence.enter({ name: 'Ada' })
  await settle(150)
  expect(presence.getSnapshot()).toMatchObject({ status: 'joining', error: { code: 'internal' } })
  await settle(2000)
  expect(gaps(server.sentOf('pjoin').map((request) => request.at))).toEqual(expected)
  expect(presence.getSnapshot()).toMatchObject({ status: 'joined', error: undefined })
})

test('a live collection’s failed snapshot is retried with the same backoff', async () => {
  const server = failing('snap', expected.length)
  const client = make(server, { reconnect })
  const todos = createCollection(
    liveCollectionOptions({ client, channel: ['todos'], getId: (row: { id: number }) => row.id, gcTime: 0 }),
  )
  todos.preload().catch(() => {})
  await settle(2000)
  expect(gaps(server.sentOf('snap').map((request) => request.at))).toEqual(expected)
  expect(todos.status).toBe('ready')
  await todos.cleanup()
})
