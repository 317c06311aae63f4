import fc from 'fast-check'
import { expect, test } from 'vitest'
import { Subscription } from '../../src/server/channel/subscription.js'
import { MemoryChannelStore } from '../../src/server/memory/memory-channel-store.js'
import type { Session } from '../../src/server/session/session.js'

// What only the memory store has: the history budget across channels and idle expiry. The ports'
// contract (log, members) runs in ./contracts.

const someone = { id: 'a', userId: 'a', send() {} } as unknown as Session

test('history stays within maxHistoryBytes whatever is published, and what is kept replays in order', () => {
  const op = fc.record({
    op: fc.constantFrom('publish', 'publish', 'subscribe', 'unsubscribe', 'join', 'leave'),
    channel: fc.nat({ max: 6 }).map((n) => `["c",{"n":${n}}]`),
    size: fc.nat({ max: 400 }),
  })
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 0, max: 3000 }), (ops, budget) => {
      const store = new MemoryChannelStore({ historySize: 10, maxHistoryBytes: budget })
      const subscription = new Subscription(someone, '', true)
      const used = new Set<string>()
      for (const { op, channel, size } of ops) {
        used.add(channel)
        const ports = store.open(channel)
        if (op === 'publish') ports.log.append(JSON.stringify('x'.repeat(size)))
        else if (op === 'subscribe') ports.subscribers.add(subscription)
        else if (op === 'unsubscribe') ports.subscribers.remove(subscription)
        else if (op === 'join') ports.members.join(someone, {})
        else ports.members.leave(someone)
        expect(store.historyBytes).toBeLessThanOrEqual(budget)
      }
      for (const channel of used) {
        const { position, messages } = store.open(channel).log.read(0)
        // What is kept ends at the position, without a gap.
        expect(messages.map((message) => message.seq)).toEqual(
          Array.from({ length: messages.length }, (_, i) => position.seq - messages.length + 1 + i),
        )
      }
      store.close()
    }),
    { numRuns: 300 },
  )
})

test('past the budget the longest idle channel goes first; the channel publishing keeps its sequence', () => {
  // Room for two of these messages (about 150 characters each as frames), not three.
  const store = new MemoryChannelStore({ maxHistoryBytes: 350 })
  const message = JSON.stringify('x'.repeat(100))
  const idle = store.open('["idle"]').log.append(message)
  store.open('["active"]').subscribers.add(new Subscription(someone, '["active"]', true))
  store.open('["active"]').log.append(message)
  store.open('["recent"]').log.append(message)
  expect(store.historyBytes).toBeLessThanOrEqual(350)
  // The idle channel is gone (its next use is a new epoch); the active one, older than "recent", is kept.
  expect(store.open('["idle"]').log.position().epoch).not.toBe(idle.epoch)
  expect(store.open('["active"]').log.read(0).messages).toHaveLength(1)
  // One message larger than the whole budget: the channel keeps no history but goes on counting.
  const big = store.open('["big"]').log
  const first = big.append(JSON.stringify('x'.repeat(400)))
  const second = big.append(JSON.stringify('x'.repeat(400)))
  expect(second).toMatchObject({ seq: first.seq + 1, epoch: first.epoch })
  expect(store.historyBytes).toBeLessThanOrEqual(350)
  store.close()
})
