import { createRealtimeClient, getPresence, type RealtimeClient } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { expect } from 'vitest'
import { eventually } from '../../packages/realtime-preset-node/tests/helpers.js'

/** The examples' chat room. */
export const lobby = ['chat', { roomId: 'lobby' }] as const

/**
 * The examples' chat, as two users see it through an example server at `origin`: Ada and Bob join
 * the lobby, Bob gets Ada's message, and Bob sees Ada online. `subscribed` runs once both are
 * subscribed, `after` at the end; the clients disconnect however it ends.
 */
export async function twoUsersChat(
  origin: string,
  checks: { subscribed?: () => Promise<void>; after?: (ada: RealtimeClient) => Promise<void> } = {},
) {
  const connect = (name: string) =>
    createRealtimeClient({ transport: nodeTransport({ url: origin, getAuthToken: () => name }) })
  const ada = connect('Ada')
  const bob = connect('Bob')
  try {
    const got: unknown[] = []
    await bob.subscribe(lobby, (message) => got.push(message)).ready
    await ada.subscribe(lobby, () => {}).ready
    await checks.subscribed?.()
    await ada.publish(lobby, { from: 'Ada', text: 'hello' })
    await eventually(() => expect(got).toEqual([{ from: 'Ada', text: 'hello' }]))

    await getPresence(ada, lobby).enter({ name: 'Ada' }).ready
    const bobPresence = getPresence(bob, lobby)
    await bobPresence.enter({ name: 'Bob' }).ready
    expect(bobPresence.getSnapshot().others.map((member) => member.state)).toEqual([{ name: 'Ada' }])
    await checks.after?.(ada)
  } finally {
    ada.disconnect()
    bob.disconnect()
  }
}
