import { createCollection } from '@tanstack/db'
import { InvalidError, liveCollectionOptions, type RealtimeClient } from '@tanstack/realtime'
import { afterEach, expect, test } from 'vitest'
import type { HarnessServer } from '../../realtime/tests/conformance/suite.js'
import { eventually } from '../../realtime/tests/support/helpers.js'
import { workerdHarness } from './support/workerd.js'

interface Todo {
  id: string
  title: string
  done: boolean
}

let server: HarnessServer | undefined
afterEach(async () => {
  workerdHarness.closeClients()
  await server?.stop()
  server = undefined
})

const todos = (client: RealtimeClient) =>
  createCollection(
    liveCollectionOptions({ client, channel: ['todos', { teamId: 't1' }], getId: (todo: Todo) => todo.id }),
  )

test('live collections sync through a Durable Object: snapshot, optimistic writes, rejections', async () => {
  server = await workerdHarness.start()
  const alice = todos(server.client('alice'))
  const bob = todos(server.client('bob'))
  await Promise.all([alice.preload(), bob.preload()])
  expect(alice.size).toBe(0)

  await alice.insert({ id: 'a', title: 'Stored in the object', done: false }).isPersisted.promise
  expect(alice.get('a')?.title).toBe('Stored in the object')
  await eventually(() => expect(bob.get('a')?.title).toBe('Stored in the object'))

  await bob.update('a', (draft) => {
    draft.done = true
  }).isPersisted.promise
  await eventually(() => expect(alice.get('a')?.done).toBe(true))

  const rejected = alice.insert({ id: 'b', title: '', done: false })
  await expect(rejected.isPersisted.promise).rejects.toThrow(InvalidError)
  await eventually(() => expect(alice.has('b')).toBe(false))

  // A new client's snapshot comes from the object's storage.
  const carol = todos(server.client('carol'))
  await carol.preload()
  expect([...carol.keys()]).toEqual(['a'])
})
