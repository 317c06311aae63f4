import { ForbiddenError, InvalidOptionsError, ServerError, type SubscriptionState } from '@tanstack/realtime'
import { expect, test } from 'vitest'
import { type FakeSocket, fakeClients, fakeServer, settle } from './fake-server.js'

const make = fakeClients()

const msg = (socket: FakeSocket, seq: number, ch = '["chat"]') => socket.receive({ t: 'msg', ch, seq, data: seq })

/** Records every state the observable goes through. */
function statesOf(state: { subscribe(listener: () => void): () => void; getSnapshot(): SubscriptionState }) {
  const seen = [state.getSnapshot()]
  state.subscribe(() => seen.push(state.getSnapshot()))
  return seen
}

test('status goes subscribing, live, resubscribing after a drop, live again (resuming from the position)', async () => {
  const server = fakeServer()
  const client = make(server)
  const got: number[] = []
  const subscription = client.subscribe(['chat'], (n) => got.push(n as number))
  const states = statesOf(subscription.state)
  await subscription.ready
  msg(server.last, 1)
  msg(server.last, 2)
  server.last.drop()
  expect(subscription.state.getSnapshot().status).toBe('resubscribing')
  await settle(100)
  expect(server.sentOf('sub').at(-1)?.frame.since).toEqual({ seq: 2, epoch: 'e1' })
  expect(states.map((state) => state.status)).toEqual(['subscribing', 'live', 'resubscribing', 'live'])
  expect(got).toEqual([1, 2])
  subscription()
  await settle()
  expect(subscription.state.getSnapshot().status).toBe('idle')
})

test('a refused subscription fails with its error; a retryable error shows while it retries with backoff', async () => {
  let failures = 2
  const server = fakeServer({
    respond: (frame) => {
      if (frame.t !== 'sub') return undefined
      if (frame.ch === '["secret"]') return { t: 'err', id: frame.id, code: 'forbidden', msg: 'no' }
      if (failures-- > 0) return { t: 'err', id: frame.id, code: 'internal', msg: 'db down' }
      return undefined
    },
  })
  const client = make(server)
  const secret = client.subscribe(['secret'], () => {})
  await expect(secret.ready).rejects.toBeInstanceOf(ForbiddenError)
  expect(secret.state.getSnapshot()).toMatchObject({ status: 'failed', error: { code: 'forbidden' } })

  const flaky = client.subscribe(['flaky'], () => {})
  const states = statesOf(flaky.state)
  await expect(flaky.ready).rejects.toBeInstanceOf(ServerError)
  await settle(100)
  await settle(100)
  expect(states.map((state) => [state.status, state.error?.code])).toEqual([
    ['subscribing', undefined],
    ['subscribing', 'internal'],
    ['subscribing', 'internal'],
    ['live', undefined],
  ])
})

test('rewind: the first subscribe asks for the largest rewind and delivers the messages before the ack to those who asked', async () => {
  const server = fakeServer({ respond: (frame) => (frame.t === 'sub' ? 'silence' : undefined) })
  const client = make(server)
  const asked: number[] = []
  const plain: number[] = []
  const events: string[] = []
  const a = client.subscribe(['chat'], (n) => asked.push(n as number), {
    rewind: 2,
    onLive: () => events.push(`live after ${asked.join(',')}`),
  })
  client.subscribe(['chat'], (n) => plain.push(n as number))
  const big: number[] = []
  client.subscribe(['chat'], (n) => big.push(n as number), { rewind: 3 })
  await settle()
  const sub = server.sentOf('sub')
  expect(sub).toHaveLength(1)
  expect(sub[0]?.frame).toMatchObject({ rewind: 3 })
  expect(sub[0]?.frame.since).toBeUndefined()
  // A message older than the last one read came before the subscribe was taken: the rewind starts after it.
  msg(server.last, 9)
  msg(server.last, 4)
  msg(server.last, 5)
  msg(server.last, 6)
  expect(asked).toEqual([]) // held until the ack
  server.last.receive({ t: 'ack', id: sub[0]?.frame.id, seq: 6, epoch: 'e1' })
  await a.ready
  expect(asked).toEqual([5, 6])
  expect(big).toEqual([4, 5, 6])
  expect(plain).toEqual([])
  expect(events).toEqual(['live after 5,6'])
  msg(server.last, 7)
  expect([asked, plain, big]).toEqual([[5, 6, 7], [7], [4, 5, 6, 7]])
})

test('rewind: a subscriber joining a live channel gets what this client kept, at once; a resubscribe resumes, never rewinds', async () => {
  const server = fakeServer()
  const client = make(server)
  const first: number[] = []
  await client.subscribe(['chat'], (n) => first.push(n as number), { rewind: 3 }).ready
  for (let seq = 1; seq <= 5; seq++) msg(server.last, seq)
  const late: number[] = []
  let liveAfter: number[] | undefined
  const second = client.subscribe(['chat'], (n) => late.push(n as number), {
    rewind: 2,
    onLive: () => {
      liveAfter = [...late]
    },
  })
  expect(late).toEqual([4, 5]) // synchronously, before onLive
  expect(liveAfter).toEqual([4, 5])
  await second.ready
  // More than was kept (3): only what was kept.
  const greedy: number[] = []
  client.subscribe(['chat'], (n) => greedy.push(n as number), { rewind: 50 })
  expect(greedy).toEqual([3, 4, 5])

  server.last.drop()
  await settle(100)
  const resubscribe = server.sentOf('sub').at(-1)?.frame
  expect(resubscribe?.since).toEqual({ seq: 5, epoch: 'e1' })
  expect(resubscribe?.rewind).toBeUndefined()
  msg(server.last, 6)
  expect(first).toEqual([1, 2, 3, 4, 5, 6])
  expect(late).toEqual([4, 5, 6])
})

test('rewind must be an integer from 0 to 1000: thrown synchronously', async () => {
  const client = make(fakeServer())
  expect(() => client.subscribe(['chat'], () => {}, { rewind: 1001 })).toThrow(InvalidOptionsError)
  expect(() => client.subscribe(['chat'], () => {}, { rewind: 1.5 })).toThrow(InvalidOptionsError)
  expect(() => client.subscribe(['chat'], () => {}, { rewind: -1 })).toThrow(InvalidOptionsError)
})

test('a gap resubscribes from the last message delivered; the position only moves forward', async () => {
  const server = fakeServer()
  const client = make(server)
  const got: number[] = []
  await client.subscribe(['chat'], (n) => got.push(n as number)).ready
  msg(server.last, 1)
  msg(server.last, 3) // 2 is missing
  expect(server.sentOf('sub').at(-1)?.frame.since).toEqual({ seq: 1, epoch: 'e1' })
  // The replay and the ack arrive in one read, the replay first; an ack behind it does not move the position back.
  const id = server.sentOf('sub').at(-1)?.frame.id
  msg(server.last, 2)
  msg(server.last, 3)
  server.last.receive({ t: 'ack', id, seq: 1, epoch: 'e1' })
  msg(server.last, 4)
  expect(got).toEqual([1, 2, 3, 4])
})
