/**
 * Chaos with real parts: three Node server processes on one redis-server, a steady publisher and
 * subscribers on different processes, clients reaching the servers through a round-robin TCP proxy.
 * A process is killed with SIGKILL mid-stream, Redis is restarted mid-stream, Redis is frozen with
 * SIGSTOP. Counts lost, repeated and reordered messages, resets, and ghost members.
 *
 * `npm test` runs a short version; `CHAOS_LONG=1` (`npm run test:chaos`) runs longer streams with
 * repeated kills.
 */
import { getPresence, type RealtimeClient, TimeoutError } from '@tanstack/realtime'
import { type RedisServer, startRedisServer } from '@tanstack/realtime-redis/testing'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import {
  eventually,
  rawSocket,
  recordStatuses,
  startProxy,
  type Proxy as TcpProxy,
} from '../../realtime/tests/support/helpers.js'
import { closeClients, makeClient } from '../../realtime-preset-node/tests/helpers.js'
import { type ServerProcess, startProcesses } from './support/processes.js'

const LONG = process.env.CHAOS_LONG === '1'
/** Messages per stream. */
const TOTAL = LONG ? 6000 : 600
/** Processes killed one after another (the long run restarts each before killing the next). */
const KILLS = LONG ? 4 : 1
const PRESENCE_TTL_MS = 3000
const HEARTBEAT_MS = 500
/** The documented bound after which a killed process's members have left everywhere. */
const LEAVE_BOUND_MS = PRESENCE_TTL_MS + HEARTBEAT_MS
const TIMEOUT_MS = LONG ? 600_000 : 60_000

const store = {
  presenceTtlMs: PRESENCE_TTL_MS,
  heartbeatMs: HEARTBEAT_MS,
  commandTimeoutMs: 500,
  historySize: TOTAL,
}

/** The servers' options: the default presence grace period (a resumed connection has it to re-join). */
const server = { presenceGraceMs: 5000, store }

let redis: RedisServer
let processes: ServerProcess[] = []
let proxy: TcpProxy | undefined

beforeEach(async () => {
  ;[redis, processes] = await Promise.all([startRedisServer(), startProcesses(3)])
  await Promise.all(processes.map((process) => process.start({ url: redis.url }, server)))
})

afterEach(async () => {
  closeClients()
  await proxy?.close()
  proxy = undefined
  await Promise.all(processes.map((process) => process.exit()))
  await redis?.close()
})

/** A subscriber that records every message (a number) and every reset, in order. */
async function subscriber(client: RealtimeClient) {
  const events: Array<number | 'reset'> = []
  await client.subscribe(['chaos'], (n) => events.push(n as number), { onReset: () => events.push('reset') }).ready
  return {
    client,
    events,
    statuses: recordStatuses(client),
    last: () => events.filter((event) => event !== 'reset').at(-1),
    /** Lost (acknowledged but never received, with no reset covering it), repeated, reordered, resets. */
    report(acked: ReadonlySet<number>) {
      let lost = 0
      let duplicated = 0
      let reordered = 0
      let silentGaps = 0
      let resets = 0
      let previous = 0
      const seen = new Set<number>()
      for (const event of events) {
        if (event === 'reset') {
          resets++
          previous = -1 // a reset allows anything next
          seen.clear()
          continue
        }
        if (seen.has(event)) duplicated++
        else if (previous !== -1 && event < previous) reordered++
        else if (previous !== -1 && event > previous + 1) {
          // Skipped numbers are fine only if they were never acknowledged (a publish that failed).
          for (let n = previous + 1; n < event; n++) if (acked.has(n)) silentGaps++
        }
        seen.add(event)
        previous = event
      }
      if (resets === 0) for (const n of acked) if (!seen.has(n)) lost++
      return { lost, duplicated, reordered, silentGaps, resets }
    },
  }
}

/**
 * Publishes 1..TOTAL from `client`, in order, awaiting each. `during(n)` runs before publish `n`.
 * `retry`: a failed number is published again until it is acknowledged; else it is skipped.
 */
async function publishAll(
  client: RealtimeClient,
  { retry, during }: { retry: boolean; during?: (n: number) => Promise<void> | void },
) {
  const acked = new Set<number>()
  const failures: Array<{ error: unknown; ms: number }> = []
  for (let n = 1; n <= TOTAL; n++) {
    await during?.(n)
    for (let attempt = 0; attempt < 1000; attempt++) {
      const started = Date.now()
      try {
        await client.publish(['chaos'], n)
        acked.add(n)
        break
      } catch (error) {
        failures.push({ error, ms: Date.now() - started })
        if (!retry) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  return { acked, failures }
}

describe('a process killed with SIGKILL mid-stream', () => {
  test(
    'its clients resume on the other processes: nothing lost, repeated or reordered; its members leave within the bound',
    async () => {
      proxy = await startProxy(processes.map((process) => process.port))
      const subscribers: Array<Awaited<ReturnType<typeof subscriber>>> = []
      // Round robin: subscriber i connects to process i % 3 (each connection in turn).
      for (let i = 0; i < 6; i++) {
        const client = makeClient({ url: proxy.url }, `sub-${i}`)
        subscribers.push(await subscriber(client))
        const presence = getPresence(client, ['chaos-room'])
        await presence.enter({ i }).ready
      }
      const publisher = makeClient({ url: (processes[0] as ServerProcess).url }, 'publisher')
      const watcher = getPresence(makeClient({ url: (processes[0] as ServerProcess).url }, 'watcher'), ['chaos-room'])
      await watcher.enter({ watcher: true }).ready
      const ids = () => new Set(subscribers.map((sub) => sub.client.connectionId))
      const originalIds = ids()
      // What the watcher sees, each time it changes: every subscriber stays present throughout, and
      // each killed process's member leaves (when, measured from the kill).
      const othersSeen: string[][] = []
      const victims: Array<{ cid: string; killedAt: number; leftAfterMs?: number }> = []
      watcher.subscribe(() => {
        const others = watcher.getSnapshot().others.map((member) => member.connectionId)
        othersSeen.push(others)
        for (const victim of victims) {
          if (victim.leftAfterMs === undefined && !others.includes(victim.cid)) {
            victim.leftAfterMs = Date.now() - victim.killedAt
          }
        }
      })

      const { acked, failures } = await publishAll(publisher, {
        retry: false,
        during: async (n) => {
          const step = Math.floor(TOTAL / (KILLS + 1))
          const kill = n / step
          if (!Number.isInteger(kill) || kill < 1 || kill > KILLS) return
          // Kill processes 2 and 1 in turn (the publisher's process 0 stays), restarting each.
          const index = kill % 2 === 1 ? 2 : 1
          const victim = processes[index] as ServerProcess
          // A member of the victim process that will not come back: it must leave everywhere.
          const raw = await rawSocket(`${victim.url}/_realtime?v=1&token=ghost-${kill}`)
          const joined = await raw.request({ t: 'pjoin', id: 1, ch: '["chaos-room"]', state: { ghost: true } })
          expect(joined).toMatchObject({ t: 'ack' })
          const hello = raw.frames.find((frame) => frame.t === 'hello')
          await eventually(() =>
            expect(watcher.getSnapshot().others.map((member) => member.connectionId)).toContain(hello.cid),
          )
          await victim.kill()
          victims.push({ cid: hello.cid, killedAt: Date.now() })
          if (LONG) {
            const [replacement] = await startProcesses(1)
            await replacement?.start({ url: redis.url }, server, victim.port)
            processes[index] = replacement as ServerProcess
          }
        },
      })
      expect(failures).toEqual([]) // the publisher's process was never killed
      for (const sub of subscribers) await eventually(() => expect(sub.last()).toBe(TOTAL), 30_000)
      const reports = subscribers.map((sub) => sub.report(acked))
      for (const report of reports) {
        expect(report).toEqual({ lost: 0, duplicated: 0, reordered: 0, silentGaps: 0, resets: 0 })
      }

      // Every killed process's member leaves within the bound; no other member ever left.
      for (const victim of victims)
        await eventually(() => expect(victim.leftAfterMs).toBeDefined(), LEAVE_BOUND_MS + 3000)
      const present = new Set(watcher.getSnapshot().others.map((member) => member.connectionId))
      expect(present).toEqual(ids())
      // The clients kept their connection ids (their memberships were taken over, not re-created)...
      expect(ids()).toEqual(originalIds)
      // ...so the watcher never saw one of them leave.
      const all = (seen: string[]) => [...originalIds].every((id) => id !== undefined && seen.includes(id))
      for (const seen of othersSeen.slice(othersSeen.findIndex(all))) expect(all(seen)).toBe(true)
      console.log(
        `chaos (kill -9 x${KILLS}, ${TOTAL} messages, 6 subscribers): lost/duplicated/reordered ` +
          `${reports.map((r) => `${r.lost}/${r.duplicated}/${r.reordered}`).join(' ')}; ghosts left after ` +
          `${victims.map((victim) => `${victim.leftAfterMs} ms`).join(', ')} (bound ${LEAVE_BOUND_MS} ms)`,
      )
      for (const victim of victims) expect(victim.leftAfterMs).toBeLessThanOrEqual(LEAVE_BOUND_MS + 3000)
    },
    TIMEOUT_MS,
  )
})

describe('Redis faults mid-stream', () => {
  async function setup() {
    const subscribers: Array<Awaited<ReturnType<typeof subscriber>>> = []
    for (const process of processes) subscribers.push(await subscriber(makeClient({ url: process.url }, 'sub')))
    const publisher = makeClient({ url: (processes[0] as ServerProcess).url }, 'publisher')
    return { subscribers, publisher }
  }

  test(
    'a Redis restart (history lost): typed retryable errors meanwhile, then explicit resets, no silent gap',
    async () => {
      const { subscribers, publisher } = await setup()
      let restarted: Promise<void> | undefined
      const { acked, failures } = await publishAll(publisher, {
        retry: true,
        during: (n) => {
          if (n === Math.floor(TOTAL / 3)) restarted = redis.restart()
        },
      })
      await restarted
      expect(failures.length).toBeGreaterThan(0)
      for (const { error } of failures) expect(error).toMatchObject({ code: 'timeout', retryable: true })
      for (const { error } of failures) expect(error).toBeInstanceOf(TimeoutError)
      for (const sub of subscribers) await eventually(() => expect(sub.last()).toBe(TOTAL), 30_000)
      for (const sub of subscribers) {
        const report = sub.report(acked)
        expect(report).toMatchObject({ duplicated: 0, reordered: 0, silentGaps: 0 })
        expect(report.resets).toBeGreaterThanOrEqual(1)
        // The sockets stayed open through the outage.
        expect(sub.statuses).toEqual(['connected'])
      }
      console.log(
        `chaos (Redis restart): ${failures.length} publishes failed with timeout (retried); resets per subscriber ` +
          subscribers.map((sub) => sub.report(acked).resets).join('/'),
      )
    },
    TIMEOUT_MS,
  )

  test(
    'Redis frozen (SIGSTOP) for 2 s: typed errors in bounded time, sockets stay open, then everything flows again',
    async () => {
      const { subscribers, publisher } = await setup()
      let thawed: Promise<void> | undefined
      const { acked, failures } = await publishAll(publisher, {
        retry: false,
        during: (n) => {
          if (n !== Math.floor(TOTAL / 3)) return
          redis.pause()
          thawed = new Promise((resolve) =>
            setTimeout(() => {
              redis.resume()
              resolve()
            }, 2000),
          )
        },
      })
      await thawed
      expect(failures.length).toBeGreaterThan(0)
      for (const { error, ms } of failures) {
        // The server's answer (Redis did not answer within commandTimeoutMs), not the client's own timeout.
        expect(error).toBeInstanceOf(TimeoutError)
        expect((error as Error).message).toMatch(/Redis did not answer within 500 ms/)
        expect(ms).toBeLessThan(3000)
      }
      const last = Math.max(...acked)
      for (const sub of subscribers) await eventually(() => expect(sub.last()).toBe(last), 30_000)
      for (const sub of subscribers) {
        // A publish that timed out may still have been applied once Redis woke: in order, once.
        expect(sub.report(acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0, silentGaps: 0, resets: 0 })
        expect(sub.statuses).toEqual(['connected'])
      }
      console.log(`chaos (SIGSTOP 2 s): ${failures.length} publishes failed with timeout; 0 lost, 0 resets`)
    },
    TIMEOUT_MS,
  )
})
