/**
 * The contract of a {@link ChannelLog}, written once and run against every implementation: the
 * memory store (in this process) and Durable Object storage (in real workerd), and later Redis.
 * Implementations are driven through {@link LogUnderTest}, so one running elsewhere answers over
 * the network.
 */
import type { StreamPosition } from '@tanstack/realtime'
import { afterEach, describe, expect, test } from 'vitest'

/** A log as the contract drives it: plain data in and out (frames as their text). */
export interface LogUnderTest {
  position(): Promise<StreamPosition>
  append(dataJson: string, idem?: string): Promise<{ seq: number; epoch: string; frame: string | undefined }>
  read(after: number, limit?: number): Promise<{ position: StreamPosition; messages: { seq: number; frame: string }[] }>
  find(idem: string): Promise<StreamPosition | undefined>
  /** Reads the log again as a new instance would (after a restart, an eviction): for logs that persist. */
  reopen(): Promise<void>
  dispose(): Promise<void>
}

export type LogFactory = (options: { ch: string; historySize: number }) => Promise<LogUnderTest>

/**
 * Registers the contract's tests.
 *
 * @param persistent - whether the log outlives its instance (then `reopen` must bring it back)
 */
export function channelLogContract(name: string, create: LogFactory, { persistent }: { persistent: boolean }): void {
  describe(`ChannelLog contract: ${name}`, () => {
    let log: LogUnderTest | undefined
    const open = async (historySize = 3, ch = '["feed",{"n":1}]') => {
      log = await create({ ch, historySize })
      return log
    }
    afterEach(async () => {
      await log?.dispose()
      log = undefined
    })

    test('starts at sequence 0 with an epoch, and appends number messages 1, 2, 3 in that epoch', async () => {
      const log = await open()
      const start = await log.position()
      expect(start.seq).toBe(0)
      expect(start.epoch).toMatch(/^.{1,64}$/)
      const first = await log.append('{"text":"hi"}')
      const second = await log.append('2')
      expect([first.seq, second.seq]).toEqual([1, 2])
      expect(new Set([start.epoch, first.epoch, second.epoch]).size).toBe(1)
      expect(JSON.parse(first.frame ?? '')).toEqual({ t: 'msg', ch: '["feed",{"n":1}]', seq: 1, data: { text: 'hi' } })
      expect(await log.position()).toEqual({ seq: 2, epoch: start.epoch })
    })

    test('reads the kept messages after a sequence number, oldest first, ending at the position', async () => {
      const log = await open(10)
      for (let n = 1; n <= 5; n++) await log.append(String(n))
      const { position, messages } = await log.read(2)
      expect(position.seq).toBe(5)
      expect(messages.map((message) => message.seq)).toEqual([3, 4, 5])
      expect(messages.map((message) => JSON.parse(message.frame).data)).toEqual([3, 4, 5])
      expect((await log.read(5)).messages).toEqual([])
      expect((await log.read(0, 2)).messages.map((message) => message.seq)).toEqual([4, 5])
    })

    test('keeps the last historySize messages (none with 0), and the sequence goes on', async () => {
      const kept = await open(3)
      for (let n = 1; n <= 5; n++) await kept.append(String(n))
      expect((await kept.read(0)).messages.map((message) => message.seq)).toEqual([3, 4, 5])
      await kept.dispose()
      const none = await open(0, '["feed",{"n":2}]')
      await none.append('1')
      expect(await none.read(0)).toMatchObject({ position: { seq: 1 }, messages: [] })
    })

    test('an idempotency key appends once; its message keeps it until it leaves the history', async () => {
      const log = await open(3)
      const first = await log.append('"a"', 'key-1')
      expect(first.frame).toBeDefined()
      const retry = await log.append('"a again"', 'key-1')
      expect(retry).toEqual({ seq: first.seq, epoch: first.epoch, frame: undefined })
      expect(await log.find('key-1')).toEqual({ seq: 1, epoch: first.epoch })
      expect(await log.find('key-2')).toBeUndefined()
      expect((await log.append('"b"', 'key-2')).seq).toBe(2)
      await log.append('"c"')
      expect(await log.find('key-1')).toEqual({ seq: 1, epoch: first.epoch })
      await log.append('"d"') // message 1 leaves the history, and its key with it
      expect(await log.find('key-1')).toBeUndefined()
      const again = await log.append('"a, later"', 'key-1')
      expect(again.seq).toBe(5)
      expect(again.frame).toBeDefined()
      expect(await log.find('key-1')).toEqual({ seq: 5, epoch: first.epoch })
      expect(await log.find('key-2')).toBeUndefined() // message 2 left with message 5
    })

    if (persistent) {
      test('a persistent log comes back as it was: position, epoch, messages, keys', async () => {
        const log = await open(3)
        for (let n = 1; n <= 4; n++) await log.append(String(n), `key-${n}`)
        const before = await log.read(0)
        await log.reopen()
        expect(await log.read(0)).toEqual(before)
        expect(await log.find('key-4')).toEqual({ seq: 4, epoch: before.position.epoch })
        expect(await log.find('key-1')).toBeUndefined()
        expect((await log.append('5', 'key-4')).seq).toBe(4)
        expect((await log.append('5')).seq).toBe(5)
      })
    }
  })
}
