// @ts-check
/**
 * Channels with real schemas (zod) and server hooks, served by every conformance harness (the Node
 * server, the Workers object bundled by esbuild, the Redis server processes) for the suite's
 * schemas-and-hooks cases (schemas-and-hooks.ts). JavaScript, so that the Redis server processes
 * (plain Node) load the same module as the others.
 */
import { defineChannel, ForbiddenError, presenceChannel } from '@tanstack/realtime'
import { DROP, defineServerChannel } from '@tanstack/realtime/server'
import { z } from 'zod'

/** Every harness server's `hookTimeoutMs`: the `slow` publish outlasts it. */
export const HOOK_TIMEOUT_MS = 300

/**
 * A chat whose clients publish `{ text }` (1 to 50 characters) and whose subscribers receive
 * `{ text, from, at }`: `onPublish` stamps the verified sender and the server's time. Texts that
 * make the hook misbehave: `throw` (a plain Error), `forbidden` (ForbiddenError), `drop` (DROP),
 * `slow` (never settles).
 */
export const shaped = defineChannel('shaped', {
  params: z.object({ roomId: z.string() }),
  publish: z.object({ text: z.string().min(1).max(50) }),
  message: z.object({ text: z.string(), from: z.string(), at: z.number() }),
})

/**
 * Presence whose state is `{ name }` (at most 20 characters): `onJoin` refuses a name that is not
 * the member's verified user id (ForbiddenError) and stamps it when none is given; `onUpdate` keeps
 * it (an update cannot rename a member); `onLeave` reports to {@link LEAVES}. Both look `slow-*`
 * users up for a while.
 */
export const badges = presenceChannel('shaped-presence', {
  params: z.object({ roomId: z.string() }),
  state: z.object({ name: z.string().max(20).optional() }),
})

/** Where `onLeave` of {@link badges} reports (a server-side publish): `{ channel, userId, state }`. */
export const LEAVES = /** @type {['shaped-leaves']} */ (['shaped-leaves'])

/**
 * Users named `slow-*` take a while to look up, as in a database (well within HOOK_TIMEOUT_MS).
 * @param {string} userId
 */
async function lookUp(userId) {
  if (userId.startsWith('slow-')) await new Promise((resolve) => setTimeout(resolve, HOOK_TIMEOUT_MS / 3))
}

/**
 * The `channels` option of a harness server.
 *
 * @param {(channel: typeof LEAVES, data: unknown) => Promise<unknown>} publish - the server's server-side publish
 */
export function schemaChannels(publish) {
  return [
    defineServerChannel(shaped, {
      onPublish({ data, userId }) {
        if (data.text === 'throw') throw new Error('The test hook broke.')
        if (data.text === 'forbidden') throw new ForbiddenError('Not in this room.')
        if (data.text === 'drop') return DROP
        if (data.text === 'slow') return new Promise(() => {})
        return { text: data.text, from: userId, at: Date.now() }
      },
    }),
    defineServerChannel(badges, {
      async onJoin({ state, userId }) {
        if (state.name !== undefined && state.name !== userId) {
          throw new ForbiddenError(`You are ${userId}, not ${state.name}.`)
        }
        await lookUp(userId)
        return { ...state, name: userId }
      },
      async onUpdate({ state, userId }) {
        await lookUp(userId)
        return { ...state, name: userId }
      },
      async onLeave({ channel, userId, state }) {
        await publish(LEAVES, { channel, userId, state })
      },
    }),
  ]
}
