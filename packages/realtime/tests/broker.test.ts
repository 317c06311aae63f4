import fc from 'fast-check'
import { expect, test } from 'vitest'
import { type BrokerListener, MemoryBroker } from '../src/server/broker.js'

const listener: BrokerListener = { message() {}, presence() {} }

test('history stays within maxHistoryBytes whatever is published, and what is kept replays in order', () => {
  const op = fc.record({
    op: fc.constantFrom('publish', 'publish', 'subscribe', 'unsubscribe', 'join', 'leave'),
    channel: fc.nat({ max: 6 }).map((n) => `["c",{"n":${n}}]`),
    size: fc.nat({ max: 400 }),
  })
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 0, max: 3000 }), (ops, budget) => {
      const broker = new MemoryBroker({ historySize: 10, maxHistoryBytes: budget })
      const used = new Set<string>()
      for (const { op, channel, size } of ops) {
        used.add(channel)
        if (op === 'publish') broker.publish(channel, JSON.stringify('x'.repeat(size)))
        else if (op === 'subscribe') broker.subscribe(channel, listener)
        else if (op === 'unsubscribe') broker.unsubscribe(channel, listener)
        else if (op === 'join') broker.presenceJoin(channel, { cid: 'a', uid: 'a', state: {} })
        else broker.presenceLeave(channel, 'a')
        expect(broker.historyBytes).toBeLessThanOrEqual(budget)
      }
      for (const channel of used) {
        const { position } = broker.read(channel)
        const replay = broker.read(channel, { seq: 0, epoch: position.epoch })
        if (replay.reset) continue
        expect(replay.messages.map((message) => message.seq)).toEqual(
          Array.from({ length: position.seq }, (_, i) => i + 1),
        )
      }
      broker.close()
    }),
    { numRuns: 300 },
  )
})

test('past the budget the longest idle channel goes first; the channel publishing keeps its sequence', () => {
  // Room for two of these messages (about 150 characters each as frames), not three.
  const broker = new MemoryBroker({ maxHistoryBytes: 350 })
  const message = JSON.stringify('x'.repeat(100))
  const idle = broker.publish('["idle"]', message)
  broker.subscribe('["active"]', listener)
  const active = broker.publish('["active"]', message)
  broker.publish('["recent"]', message)
  expect(broker.historyBytes).toBeLessThanOrEqual(350)
  // The idle channel is gone (a resumer resets); the active one, older than "recent", is kept.
  expect(broker.read('["idle"]', { seq: 0, epoch: idle.epoch }).reset).toBe(true)
  expect(broker.read('["active"]', { seq: 0, epoch: active.epoch }).messages).toHaveLength(1)
  // One message larger than the whole budget: the channel keeps no history but goes on counting.
  const first = broker.publish('["big"]', JSON.stringify('x'.repeat(400)))
  const second = broker.publish('["big"]', JSON.stringify('x'.repeat(400)))
  expect(second).toEqual({ seq: first.seq + 1, epoch: first.epoch })
  expect(broker.historyBytes).toBeLessThanOrEqual(350)
  broker.close()
})
