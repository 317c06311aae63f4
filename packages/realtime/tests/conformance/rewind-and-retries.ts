/**
 * Rewind and idempotent retries, as a client sees them, on every preset: recent history on
 * subscribe (exactly once across reconnects), and publishes whose answer was lost with the
 * connection sent again and applied once.

 */
import { ConnectionLostError, collectionSnapshot } from '@tanstack/realtime'
import { describe, expect, test } from 'vitest'
import { eventually, startProxy } from '../support/helpers.js'
import type { HarnessOptions, HarnessServer } from './harness.js'

/** Part of `conformanceSuite`: `start` starts the preset's server, which the suite stops after each test. */
export function rewindAndRetriesSuite(start: (options?: HarnessOptions) => Promise<HarnessServer>): void {
  describe('rewind', () => {
    test('a subscriber asking for rewind gets the most recent kept messages in order, then live ones', async () => {
      const server = await start()
      for (let n = 1; n <= 30; n++) await server.publish(['room'], n)
      const client = server.client('alice')
      const got: number[] = []
      let liveAfter: number[] = []
      const subscription = client.subscribe(['room'], (n) => got.push(n as number), {
        rewind: 20,
        onLive: () => {
          liveAfter = [...got]
        },
      })
      await subscription.ready
      const recent = Array.from({ length: 20 }, (_, i) => i + 11)
      expect(liveAfter).toEqual(recent)
      await server.publish(['room'], 31)
      await eventually(() => expect(got).toEqual([...recent, 31]))
    })

    test('rewind is exactly once across reconnects: the resubscribe resumes from the position', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      for (let n = 1; n <= 10; n++) await server.publish(['room'], n)
      const client = server.client('alice', { url: proxy.url })
      const got: number[] = []
      const lives: boolean[] = []
      await client.subscribe(['room'], (n) => got.push(n as number), {
        rewind: 5,
        onLive: ({ recovered }) => lives.push(recovered),
      }).ready
      expect(got).toEqual([6, 7, 8, 9, 10])
      proxy.block()
      proxy.cut()
      await eventually(() => expect(client.status.getSnapshot()).toBe('reconnecting'))
      for (let n = 11; n <= 15; n++) await server.publish(['room'], n)
      proxy.unblock()
      await eventually(() => expect(lives).toEqual([false, true]))
      await server.publish(['room'], 16)
      await eventually(() => expect(got).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]))
      await proxy.close()
    })

    test('a second subscriber in the same client gets the recent messages the client kept, at once', async () => {
      const server = await start()
      const client = server.client('alice')
      const first: unknown[] = []
      await client.subscribe(['room'], (message) => first.push(message), { rewind: 3 }).ready
      for (const text of ['a', 'b', 'c', 'd']) await client.publish(['room'], text)
      await eventually(() => expect(first).toEqual(['a', 'b', 'c', 'd']))
      const second: unknown[] = []
      const subscription = client.subscribe(['room'], (message) => second.push(message), { rewind: 2 })
      expect(second).toEqual(['c', 'd']) // before subscribe() returned
      expect(subscription.state.getSnapshot().status).toBe('live')
      await client.publish(['room'], 'e')
      await eventually(() => expect(second).toEqual(['c', 'd', 'e']))
    })
  })

  describe('idempotent retries', () => {
    test('a publish whose answer was lost with the connection is sent again and applied once', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      const observer = server.client('bob')
      const got: unknown[] = []
      await observer.subscribe(['chat'], (message) => got.push(message)).ready
      await client.subscribe(['chat'], () => {}).ready // keeps a per-channel socket open to lose
      proxy.hold() // the server applies the publish; its answer never comes back
      const publish = client.publish(['chat'], 'once')
      await eventually(() => expect(got).toEqual(['once']))
      proxy.cut()
      proxy.release()
      await expect(publish).resolves.toEqual({ seq: 1 }) // the first application's seq
      await client.publish(['chat'], 'marker')
      await eventually(() => expect(got).toEqual(['once', 'marker']))
      await proxy.close()
    })

    test('publishes in flight during repeated network cuts arrive exactly once, in order, and all resolve', async () => {
      const server = await start()
      const proxy = await startProxy(server.port, { batchMs: 5 })
      const client = server.client('alice', { url: proxy.url, requestTimeoutMs: 10_000 })
      const observer = server.client('bob')
      const got: number[] = []
      await observer.subscribe(['stream'], (n) => got.push(n as number)).ready
      await client.subscribe(['stream'], () => {}).ready
      const total = 300
      const pending: Array<Promise<unknown>> = []
      let cuts = 0
      for (let n = 1; n <= total; n++) {
        pending.push(client.publish(['stream'], n))
        // Cut every 25 publishes while they are in flight: some applied with their answer lost,
        // some sent and not applied yet, some queued.
        if (n % 25 === 0) {
          await eventually(() => expect(got).toContain(n - 24)) // this round is flowing
          proxy.cut()
          cuts++
        }
      }
      const outcomes = await Promise.allSettled(pending)
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([])
      await eventually(() => expect(got.at(-1)).toBe(total), 15_000)
      const unique = new Set(got)
      expect({
        lost: total - unique.size,
        duplicated: got.length - unique.size,
        reordered: got.filter((n, i) => i > 0 && n < (got[i - 1] as number)).length,
      }).toEqual({ lost: 0, duplicated: 0, reordered: 0 })
      expect(cuts).toBe(12)
      await proxy.close()
    })

    test('a request that cannot be retried fails with ConnectionLostError when the connection drops under it', async () => {
      const server = await start()
      const proxy = await startProxy(server.port)
      const client = server.client('alice', { url: proxy.url })
      await client.subscribe(['todos'], () => {}).ready
      proxy.hold()
      const snapshot = collectionSnapshot(client, ['todos'])
      const failed = expect(snapshot).rejects.toBeInstanceOf(ConnectionLostError)
      proxy.cut() // the request was sent when snapshot() returned
      proxy.release()
      await failed
      await proxy.close()
    })
  })
}
