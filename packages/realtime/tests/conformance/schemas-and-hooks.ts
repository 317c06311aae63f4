/**
 * Channel schemas and server hooks, as clients see them, on every preset: the server refuses what
 * a schema refuses (with its issues), shapes what hooks shape, answers a failing or slow hook
 * without losing the connection, and its server-side reads agree with what clients received. The
 * channels are those of schema-channels.js, which every harness serves. Their keys are written raw
 * here (a raw key carries no schema, so the client sends what the server must refuse).
 */
import {
  type ChannelKey,
  ForbiddenError,
  getPresence,
  type PresenceChannel,
  type PresenceLeave,
  type PresenceMember,
  ServerError,
  ValidationError,
} from '@tanstack/realtime'
import { describe, expect, test } from 'vitest'
import { eventually, rawSocket, recordStatuses } from '../support/helpers.js'
import type { HarnessOptions, HarnessServer } from './harness.js'
import { LEAVES, shaped } from './schema-channels.js'

const room = (roomId: string): ChannelKey => ['shaped', { roomId }]
const badges = (roomId: string): ChannelKey => ['shaped-presence', { roomId }]

type Member = { presence: PresenceChannel<{ name?: string }>; leave: PresenceLeave }

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    (value) => {
      throw new Error(`Expected a rejection, got ${JSON.stringify(value)}.`)
    },
    (error) => error,
  )
}

/** Part of `conformanceSuite`: `start` starts the preset's server, which the suite stops after each test. */
export function schemasAndHooksSuite(start: (options?: HarnessOptions) => Promise<HarnessServer>): void {
  /** A subscriber of `channel` that records what it receives, with sequence numbers. */
  const subscriber = async (server: HarnessServer, channel: ChannelKey, token = 'watcher') => {
    const got: { seq: number; data: unknown }[] = []
    await server.client(token).subscribe(channel, (data, { seq }) => got.push({ seq, data })).ready
    return got
  }

  describe('channel schemas', () => {
    test('a message its schema refuses is answered with the issues, and no subscriber sees it', async () => {
      const server = await start()
      const got = await subscriber(server, room('r1'))
      const alice = server.client('alice')
      for (const data of [{ text: '' }, { text: 'x'.repeat(51) }, { text: 7 }, 'text']) {
        const error = await rejection(alice.publish(room('r1'), data))
        expect(error).toBeInstanceOf(ValidationError)
        expect(error.code).toBe('invalid')
        expect(error.issues).toEqual([{ path: typeof data === 'string' ? [] : ['text'], message: expect.any(String) }])
      }
      // A barrier: the valid message published after them is the first thing the subscriber receives.
      expect(await alice.publish(room('r1'), { text: 'valid' })).toMatchObject({ seq: 1 })
      await eventually(() => expect(got).toHaveLength(1))
      expect(got).toEqual([{ seq: 1, data: { text: 'valid', from: 'alice', at: expect.any(Number) } }])
    })

    test('params its schema refuses are answered with the issues on subscribe, publish and join', async () => {
      const server = await start()
      const alice = server.client('alice')
      const bad = ['shaped', { roomId: 5 }] as ChannelKey
      const issues = [{ path: ['roomId'], message: expect.any(String) }]
      const subscribed = await rejection(alice.subscribe(bad, () => {}).ready)
      expect(subscribed).toBeInstanceOf(ValidationError)
      expect(subscribed.issues).toEqual(issues)
      const published = await rejection(alice.publish(bad, { text: 'hi' }))
      expect(published).toBeInstanceOf(ValidationError)
      expect(published.issues).toEqual(issues)
      const joined = await rejection(getPresence(alice, ['shaped-presence', { roomId: 5 }]).enter({}).ready)
      expect(joined).toBeInstanceOf(ValidationError)
      expect(joined.issues).toEqual(issues)
      // The same client's good params work.
      await expect(alice.publish(room('5'), { text: 'hi' })).resolves.toMatchObject({ seq: 1 })
    })
  })

  describe('server hooks', () => {
    test("onPublish stamps the publisher's verified user id, which the client cannot forge", async () => {
      const server = await start()
      const got = await subscriber(server, room('r1'))
      const typed: { text: string; from: string; at: number }[] = []
      await server.client('carol').subscribe(shaped({ roomId: 'r1' }), (message) => typed.push(message)).ready
      await server.client('mallory').publish(room('r1'), { text: 'I am alice', from: 'alice', at: 0 })
      // Requests sent together are shaped and delivered in the order they were sent.
      const alice = server.client('alice')
      const texts = Array.from({ length: 10 }, (_, i) => `hello ${i}`)
      const positions = await Promise.all(texts.map((text) => alice.publish(shaped({ roomId: 'r1' }), { text })))
      expect(positions.map(({ seq }) => seq)).toEqual(texts.map((_, i) => i + 2))
      const expected = [
        { text: 'I am alice', from: 'mallory', at: expect.any(Number) },
        ...texts.map((text) => ({ text, from: 'alice', at: expect.any(Number) })),
      ]
      await eventually(() => expect(got.map(({ data }) => data)).toEqual(expected))
      await eventually(() => expect(typed).toEqual(expected))
      expect(typed[0]?.at).toBeGreaterThan(0)
    })

    test('a hook that throws is answered internal (or with its RealtimeError); the connection keeps working', async () => {
      const reported: unknown[] = []
      const server = await start({ onError: (error) => reported.push(error) })
      // Alice subscribes too: her channel's socket stays open (on Workers a socket serves one channel).
      const alice = server.client('alice')
      const got: string[] = []
      await alice.subscribe(room('r1'), (message) => got.push((message as { text: string }).text)).ready
      await alice.publish(room('r1'), { text: 'first' })
      const connectionId = alice.connectionId
      const statuses = recordStatuses(alice)

      const failed = await rejection(alice.publish(room('r1'), { text: 'throw' }))
      expect(failed).toBeInstanceOf(ServerError)
      expect(failed).toMatchObject({ code: 'internal', message: `The server's onPublish of channel "shaped" failed.` })
      await eventually(() => expect(reported.map(String)).toEqual([expect.stringContaining('The test hook broke.')]))
      const refused = await rejection(alice.publish(room('r1'), { text: 'forbidden' }))
      expect(refused).toBeInstanceOf(ForbiddenError)
      expect(refused.message).toBe('Not in this room.')

      await expect(alice.publish(room('r1'), { text: 'after' })).resolves.toMatchObject({ seq: 2 })
      expect(alice.connectionId).toBe(connectionId)
      expect(statuses).toEqual(['connected'])
      await eventually(() => expect(got).toEqual(['first', 'after']))
      expect(reported).toHaveLength(1) // a RealtimeError is the answer, not a failure
    })

    test('onPublish returning DROP resolves the publish with seq 0 and delivers nothing', async () => {
      const server = await start()
      const got = await subscriber(server, room('r1'))
      const alice = server.client('alice')
      await expect(alice.publish(room('r1'), { text: 'drop' })).resolves.toMatchObject({ seq: 0 })
      // A barrier: the next message is the first received, and the dropped one took no sequence number.
      await alice.publish(room('r1'), { text: 'kept' })
      await eventually(() => expect(got).toHaveLength(1))
      expect(got).toEqual([{ seq: 1, data: expect.objectContaining({ text: 'kept' }) }])
      expect(await server.getHistory(room('r1'))).toEqual(got)
    })

    test('a hook past hookTimeoutMs is answered internal; the channel goes on', async () => {
      const reported: unknown[] = []
      const server = await start({ onError: (error) => reported.push(error) })
      const got = await subscriber(server, room('r1'))
      const alice = server.client('alice')
      const slow = await rejection(alice.publish(room('r1'), { text: 'slow' }))
      expect(slow).toBeInstanceOf(ServerError)
      expect(slow.message).toMatch(/onPublish of channel "shaped" did not settle within hookTimeoutMs/)
      await eventually(() => expect(reported).toHaveLength(1))
      await expect(alice.publish(room('r1'), { text: 'next' })).resolves.toMatchObject({ seq: 1 })
      await expect(server.client('bob').publish(room('r1'), { text: 'other' })).resolves.toMatchObject({ seq: 2 })
      await eventually(() => expect(got.map(({ data }) => (data as { text: string }).text)).toEqual(['next', 'other']))
    })

    test('a presence state its schema refuses, or onJoin refuses, fails the join; others never see the member', async () => {
      const server = await start()
      const watcher = getPresence(server.client('watcher'), badges('r1'))
      await watcher.enter({}).ready
      const seen = new Set<string>()
      watcher.subscribe(() => {
        for (const member of watcher.getSnapshot().others) seen.add(member.userId)
      })

      const mallory = getPresence(server.client('mallory'), badges('r1'))
      const invalid = await rejection(mallory.enter({ name: 'x'.repeat(21) }).ready)
      expect(invalid).toBeInstanceOf(ValidationError)
      expect(invalid.issues).toEqual([{ path: ['name'], message: expect.any(String) }])
      expect(mallory.getSnapshot()).toMatchObject({ status: 'error', error: invalid })
      const eve = getPresence(server.client('eve'), badges('r1'))
      const forged = await rejection(eve.enter({ name: 'alice' }).ready)
      expect(forged).toBeInstanceOf(ForbiddenError)
      expect(eve.getSnapshot()).toMatchObject({ status: 'error', error: forged })

      // onJoin stamps the verified name; the schema's output (unknown keys stripped) is what others see.
      const carol = getPresence(server.client('carol'), badges('r1'))
      await carol.enter({}).ready
      expect(carol.getSnapshot().self?.state).toEqual({ name: 'carol' }) // the joiner keeps the shaped state too
      await getPresence(server.client('dave'), badges('r1')).enter({ name: 'dave', role: 'admin' }).ready
      await eventually(() =>
        expect(watcher.getSnapshot().others.map(({ userId, state }) => ({ userId, state }))).toEqual([
          { userId: 'carol', state: { name: 'carol' } },
          { userId: 'dave', state: { name: 'dave' } },
        ]),
      )
      expect([...seen]).toEqual(['carol', 'dave'])
      const members = await server.getPresence(badges('r1'))
      expect(members.map(({ userId }) => userId)).toEqual(['watcher', 'carol', 'dave'])
    })

    test('an update its schema refuses is answered with the issues; onUpdate reshapes what others see', async () => {
      const server = await start()
      const watcher = getPresence(server.client('watcher'), badges('r1'))
      await watcher.enter({}).ready
      const states: unknown[] = []
      watcher.subscribe(() => states.push(...watcher.getSnapshot().others.map(({ state }) => state)))
      const ch = JSON.stringify(badges('r1'))
      const socket = await rawSocket(server.socketUrl(ch, 'v=1&token=mallory'))
      expect(await socket.request({ t: 'pjoin', id: 1, ch, state: {} })).toMatchObject({ t: 'ack' })
      expect(await socket.request({ t: 'pset', id: 2, ch, patch: { name: 'x'.repeat(21) } })).toEqual({
        t: 'err',
        id: 2,
        code: 'invalid',
        msg: expect.any(String),
        issues: [{ path: ['name'], message: expect.any(String) }],
      })
      // A rename is accepted, and reshaped by onUpdate: others keep seeing the verified name.
      expect(await socket.request({ t: 'pset', id: 3, ch, patch: { name: 'alice' } })).toEqual({
        t: 'ack',
        id: 3,
        state: { name: 'mallory' }, // the state kept, so the member's own view agrees
      })
      // A barrier: a member joining after the updates is seen after anything they announced.
      await getPresence(server.client('zed'), badges('r1')).enter({}).ready
      await eventually(() =>
        expect(watcher.getSnapshot().others.map(({ userId }) => userId)).toEqual(['mallory', 'zed']),
      )
      expect(watcher.getSnapshot().others[0]?.state).toEqual({ name: 'mallory' })
      expect(states).not.toContainEqual({ name: 'alice' })
      expect(states).not.toContainEqual({ name: 'x'.repeat(21) })
      socket.ws.close()
      await eventually(() => expect(watcher.getSnapshot().others.map(({ userId }) => userId)).toEqual(['zed']))

      // A client whose update is refused stays joined, with the reason in its snapshot (until the next change).
      const errors: unknown[] = []
      watcher.subscribe(() => errors.push(watcher.getSnapshot().error))
      watcher.update({ name: 'x'.repeat(21) })
      await eventually(() => expect(errors.at(-1)).toBeInstanceOf(ValidationError))
      expect(watcher.getSnapshot()).toMatchObject({ status: 'joined', error: { issues: [{ path: ['name'] }] } })
    })

    test('a connection closed while its onJoin or onUpdate runs leaves no member behind', async () => {
      const server = await start()
      const watcher = getPresence(server.client('watcher'), badges('r1'))
      await watcher.enter({}).ready
      const seen: string[][] = []
      watcher.subscribe(() => seen.push(watcher.getSnapshot().others.map(({ userId }) => userId)))
      const ch = JSON.stringify(badges('r1'))
      const joiner = await rawSocket(server.socketUrl(ch, 'v=1&token=slow-joiner'))
      joiner.send({ t: 'pjoin', id: 1, ch, state: {} })
      joiner.ws.close() // a goodbye, while the join's hook is still looking the user up
      const updater = await rawSocket(server.socketUrl(ch, 'v=1&token=slow-updater'))
      expect(await updater.request({ t: 'pjoin', id: 1, ch, state: {} })).toMatchObject({ t: 'ack' })
      await eventually(() => expect(seen.at(-1)).toEqual(['slow-updater']))
      updater.send({ t: 'pset', id: 2, ch, patch: { name: 'renamed' } })
      updater.ws.close() // the same while the update's hook runs
      await Promise.all([joiner.closed, updater.closed])
      // A barrier: a channel's hooks run one at a time, so a join after them is handled after them
      // (on one server; across the Redis processes it may overtake them, and the check is weaker).
      await getPresence(server.client('zed'), badges('r1')).enter({}).ready
      await eventually(() => expect(seen.at(-1)).toEqual(['zed']))
      expect(seen.flat()).not.toContain('slow-joiner')
      const members = await server.getPresence(badges('r1'))
      expect(members.map(({ userId }) => userId)).toEqual(['watcher', 'zed'])
    })

    test('onLeave runs when a member leaves, says goodbye, or does not come back within the grace period', async () => {
      const server = await start({ presenceGraceMs: 100 })
      const leaves: unknown[] = []
      await server.client('watcher').subscribe(LEAVES, (event) => leaves.push(event)).ready
      const left = (userId: string) => ({ channel: badges('r1'), userId, state: { name: userId } })

      const leave = getPresence(server.client('alice'), badges('r1')).enter({})
      await leave.ready
      leave()
      await eventually(() => expect(leaves).toEqual([left('alice')]))

      const bob = server.client('bob')
      await getPresence(bob, badges('r1')).enter({}).ready
      bob.disconnect()
      await eventually(() => expect(leaves).toEqual([left('alice'), left('bob')]))

      // A connection that dies without a goodbye: its member leaves when the grace period ends.
      const ch = JSON.stringify(badges('r1'))
      const socket = await rawSocket(server.socketUrl(ch, 'v=1&token=carol'))
      expect(await socket.request({ t: 'pjoin', id: 1, ch, state: {} })).toMatchObject({ t: 'ack' })
      socket.ws.terminate()
      await eventually(() => expect(leaves).toEqual([left('alice'), left('bob'), left('carol')]))
    })
  })

  describe('server-side reads', () => {
    test('getPresence and getHistory return what the clients see', async () => {
      const server = await start()
      const members: Member[] = []
      for (const name of ['alice', 'bob', 'carol']) {
        const presence = getPresence(server.client(name), badges('r2'))
        const leave = presence.enter({ name })
        await leave.ready // one after the other: the join order is known
        members.push({ presence, leave })
      }
      const [, bob, carol] = members as [Member, Member, Member]
      // Carol's view: the others in join order, then herself.
      const seen = (): PresenceMember[] => {
        const { others, self } = carol.presence.getSnapshot()
        return self ? [...others, self] : others
      }
      await eventually(() => expect(seen().map(({ userId }) => userId)).toEqual(['alice', 'bob', 'carol']))
      expect(await server.getPresence(badges('r2'))).toEqual(seen())
      bob.leave()
      await eventually(() => expect(seen().map(({ userId }) => userId)).toEqual(['alice', 'carol']))
      expect(await server.getPresence(badges('r2'))).toEqual(seen())

      const got = await subscriber(server, room('r2'))
      const publisher = server.client('alice')
      for (const text of ['one', 'two', 'drop', 'three']) await publisher.publish(room('r2'), { text })
      await server.publish(room('r2'), { text: 'from the server', from: 'server', at: 1 })
      await eventually(() => expect(got).toHaveLength(4))
      expect(got.map(({ seq }) => seq)).toEqual([1, 2, 3, 4])
      expect(await server.getHistory(room('r2'))).toEqual(got)
      expect(await server.getHistory(room('r2'), { limit: 2 })).toEqual(got.slice(-2))
      await expect(server.getHistory(room('r2'), { limit: 0 })).rejects.toMatchObject({
        code: 'invalid',
        message: 'Option "limit" must be an integer >= 1; got 0.',
      })
    })
  })
}
