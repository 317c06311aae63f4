/**
 * Live collections as a client sees them, on every preset: snapshots, ordered changes, optimistic
 * writes and their rejection, resume or reset (a fresh snapshot) after a network cut, and what the
 * collection's source receives. Run by {@link conformanceSuite}.
 */
import { createCollection, createLiveQueryCollection, eq } from '@tanstack/db'
import {
  type CollectionChange,
  collectionSnapshot,
  collectionWrite,
  defineChannel,
  InvalidError,
  liveCollectionOptions,
  liveQueryOptions,
  type RealtimeClient,
} from '@tanstack/realtime'
import type { CollectionSource } from '@tanstack/realtime/server'
import { expect, test } from 'vitest'
import { eventually, startProxy } from '../support/helpers.js'
import type { HarnessOptions, HarnessServer } from './harness.js'

interface Todo {
  id: string
  title: string
  done: boolean
}

const todosChannel = defineChannel<{ teamId: string }>('todos')

/** The server's own store: rows changed by client writes and by server-side publishes; who asked. */
export function todoStore(initial: Todo[] = []) {
  const rows = new Map(initial.map((todo) => [todo.id, todo]))
  const stats = { loads: 0, identities: [] as string[] }
  const source: CollectionSource<string, Todo> = {
    load: (_channel, identity) => {
      stats.loads++
      stats.identities.push(identity)
      return [...rows.values()]
    },
    write: (ops, { identity }) => {
      stats.identities.push(identity)
      for (const op of ops) {
        if (op.type === 'delete') rows.delete(String(op.key))
        else {
          const todo = op.value as unknown as Todo
          if (!todo.title) throw new InvalidError('A todo needs a title.')
          rows.set(todo.id, todo)
        }
      }
      return undefined
    },
  }
  return { rows, source, stats }
}

type Store = ReturnType<typeof todoStore>

function todos(client: RealtimeClient, options: { gcTime?: number } = {}) {
  return createCollection(
    liveCollectionOptions({
      client,
      channel: todosChannel,
      params: { teamId: 't1' },
      getId: (todo: Todo) => todo.id,
      ...options,
    }),
  )
}

/** Server-side change, the way an API route or background job pushes one. */
function push(server: HarnessServer, store: Store, change: CollectionChange<Todo>) {
  if (change.type === 'delete') store.rows.delete(String(change.key))
  else store.rows.set(change.value.id, change.value)
  return server.publish(todosChannel({ teamId: 't1' }), { changes: [change] })
}

/** Rows sorted by id, without TanStack DB's virtual `$` properties. */
const sorted = (rows: Iterable<Todo>) =>
  [...rows].map(({ id, title, done }) => ({ id, title, done })).sort((a, b) => a.id.localeCompare(b.id))

/** The collection cases, given the suite's way to start a server (stopped after each test). */
export function collectionCases(start: (options?: HarnessOptions) => Promise<HarnessServer>): void {
  const serve = (store: Store, options: HarnessOptions = {}) => start({ collection: store.source, ...options })

  test('a snapshot, then ordered server changes', async () => {
    const store = todoStore([
      { id: 'a', title: 'Alpha', done: false },
      { id: 'b', title: 'Beta', done: true },
    ])
    const server = await serve(store)
    const collection = todos(server.client('alice'))
    await collection.preload()
    expect(sorted(collection.values())).toEqual(sorted(store.rows.values()))

    await push(server, store, { type: 'insert', value: { id: 'c', title: 'Gamma', done: false } })
    await push(server, store, { type: 'update', value: { id: 'a', title: 'Alpha', done: true } })
    await push(server, store, { type: 'delete', key: 'b' })
    // An insert for a row the client already has is applied as an update (no DuplicateKeySyncError).
    await push(server, store, { type: 'insert', value: { id: 'c', title: 'Gamma!', done: false } })
    await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())))
    expect(collection.get('c')?.title).toBe('Gamma!')
  })

  test("the source's load and write receive the connection's identity (the token alice is the user alice)", async () => {
    const store = todoStore()
    const server = await serve(store)
    const collection = todos(server.client('alice'))
    await collection.preload()
    await collection.insert({ id: 'x', title: 'Mine', done: false }).isPersisted.promise
    expect(store.stats.identities).toEqual(['alice', 'alice'])
  })

  test('a live query with where and orderBy updates on server changes', async () => {
    const store = todoStore([
      { id: '1', title: 'Bake', done: false },
      { id: '2', title: 'Archive', done: true },
    ])
    const server = await serve(store)
    const collection = todos(server.client('alice'))
    const open = createLiveQueryCollection(
      liveQueryOptions({
        query: (q) =>
          q
            .from({ todo: collection })
            .where(({ todo }) => eq(todo.done, false))
            .orderBy(({ todo }) => todo.title),
      }),
    )
    await open.preload()
    const titles = () => open.toArray.map((todo) => todo.title)
    expect(titles()).toEqual(['Bake'])
    await push(server, store, { type: 'insert', value: { id: '3', title: 'Answer mail', done: false } })
    await eventually(() => expect(titles()).toEqual(['Answer mail', 'Bake']))
    await push(server, store, { type: 'update', value: { id: '1', title: 'Bake', done: true } })
    await eventually(() => expect(titles()).toEqual(['Answer mail']))
  })

  test('optimistic writes settle on the server’s echo without flicker, and two clients converge', async () => {
    const store = todoStore()
    const server = await serve(store)
    const alice = todos(server.client('alice'))
    const bob = todos(server.client('bob'))
    await Promise.all([alice.preload(), bob.preload()])

    const seen: string[][] = []
    alice.subscribeChanges(() => seen.push([...alice.keys()].map(String)))
    const insert = alice.insert({ id: 'x', title: 'From Alice', done: false })
    expect(alice.get('x')?.title).toBe('From Alice') // optimistic, at once
    await insert.isPersisted.promise
    expect(alice.get('x')?.title).toBe('From Alice')
    expect(seen.every((keys) => keys.includes('x'))).toBe(true) // never disappeared

    // Concurrent writes from both clients.
    const writes = [
      alice.update('x', (draft) => {
        draft.done = true
      }),
      bob.insert({ id: 'y', title: 'From Bob', done: false }),
      bob.insert({ id: 'z', title: 'Also Bob', done: false }),
      alice.insert({ id: 'w', title: 'Alice again', done: false }),
    ]
    await Promise.all(writes.map((tx) => tx.isPersisted.promise))
    await bob.delete('z').isPersisted.promise
    const expected = sorted(store.rows.values())
    await eventually(() => {
      expect(sorted(alice.values())).toEqual(expected)
      expect(sorted(bob.values())).toEqual(expected)
    })
    expect(expected.map((todo) => todo.id)).toEqual(['w', 'x', 'y'])
  })

  test('a rejected write rolls back and the typed error reaches the caller', async () => {
    const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
    let server = await serve(store)
    const collection = todos(server.client('alice'))
    await collection.preload()
    const tx = collection.insert({ id: 'bad', title: '', done: false })
    await expect(tx.isPersisted.promise).rejects.toThrow(InvalidError)
    await expect(tx.isPersisted.promise).rejects.toThrow('A todo needs a title.')
    await eventually(() => expect(collection.has('bad')).toBe(false))
    expect(store.rows.has('bad')).toBe(false)

    // Authorization: without publish permission the write is refused, and rolled back.
    await server.stop()
    const readOnly = todoStore([{ id: 'a', title: 'Alpha', done: false }])
    server = await serve(readOnly, { authorize: () => ({ subscribe: true, publish: false }) })
    const other = todos(server.client('bob'))
    await other.preload()
    const denied = other.update('a', (draft) => {
      draft.title = 'Changed'
    })
    await expect(denied.isPersisted.promise).rejects.toMatchObject({ code: 'forbidden' })
    await eventually(() => expect(other.get('a')?.title).toBe('Alpha'))
    expect(readOnly.rows.get('a')?.title).toBe('Alpha')
  })

  for (const [label, historySize, snapshots] of [
    ['replayed', 500, 1],
    ['reset: a fresh snapshot, reconciled', 3, 2],
  ] as const) {
    test(`after a network cut during a burst of server changes, rows equal the server's (${label})`, async () => {
      const store = todoStore([{ id: 'seed', title: 'Seed', done: false }])
      const server = await serve(store, { historySize })
      const proxy = await startProxy(server.port)
      const collection = todos(server.client('alice', { url: proxy.url }))
      await collection.preload()
      let n = 0
      const burst = async (count: number) => {
        for (let i = 0; i < count; i++, n++) {
          const id = `r${n % 7}`
          if (n % 5 === 4) await push(server, store, { type: 'delete', key: id })
          else await push(server, store, { type: 'insert', value: { id, title: `v${n}`, done: n % 2 === 0 } })
        }
      }
      await burst(10)
      proxy.block()
      proxy.cut()
      await burst(20) // while the client is away
      proxy.unblock()
      await burst(10)
      await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())))
      expect(store.stats.loads).toBe(snapshots)
      await proxy.close()
    })
  }

  test('the collection stops syncing (server unsubscribe) when garbage collected', async () => {
    const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
    const server = await serve(store)
    const collection = todos(server.client('alice'), { gcTime: 50 })
    const subscription = collection.subscribeChanges(() => {})
    await collection.preload()
    const key = todosChannel({ teamId: 't1' })
    expect(await server.subscriberCount(key)).toBe(1)
    subscription.unsubscribe()
    await eventually(async () => expect(await server.subscriberCount(key)).toBe(0))
    expect(collection.status).toBe('cleaned-up')
  })

  test('snapshots of a channel without a collection source fail with a typed error; a failing load with internal', async () => {
    let server = await serve(todoStore())
    const client = server.client('alice')
    await expect(collectionSnapshot(client, ['not-a-collection'])).rejects.toThrow(InvalidError)
    await expect(collectionWrite(client, ['not-a-collection'], [{ type: 'delete', key: 1 }])).rejects.toThrow(
      InvalidError,
    )
    await server.stop()
    const reported: unknown[] = []
    server = await start({
      collection: { load: () => Promise.reject(new Error('db down')) },
      onError: (error) => reported.push(error),
    })
    const broken = createCollection(
      liveCollectionOptions({ client: server.client('carol'), channel: ['todos'], getId: (t: Todo) => t.id }),
    )
    await expect(broken.preload()).rejects.toMatchObject({ code: 'internal' })
    await eventually(() => expect(reported).toHaveLength(1))
  })

  test('a failed snapshot is retried, and the collection recovers and keeps applying changes', async () => {
    const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
    let failures = 1
    const load = store.source.load
    store.source.load = (channel, identity) => {
      if (failures-- > 0) throw new Error('database warming up')
      return load(channel, identity)
    }
    const server = await serve(store, { onError: () => {} })
    const collection = todos(server.client('alice'))
    await expect(collection.preload()).rejects.toMatchObject({ code: 'internal' })
    await eventually(() => expect(collection.status).toBe('ready'), 5000)
    expect(sorted(collection.values())).toEqual(sorted(store.rows.values()))
    await push(server, store, { type: 'insert', value: { id: 'b', title: 'Beta', done: false } })
    await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())))
  })

  test('a failed refetch rejects, is retried, and the collection keeps applying changes', async () => {
    const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
    const server = await serve(store, { onError: () => {} })
    const collection = todos(server.client('alice'))
    await collection.preload()
    const load = store.source.load
    let failures = 1
    store.source.load = (channel, identity) => {
      if (failures-- > 0) throw new Error('replica lagging')
      return load(channel, identity)
    }
    await expect(collection.utils.refetch()).rejects.toMatchObject({ code: 'internal' })
    await push(server, store, { type: 'insert', value: { id: 'b', title: 'Beta', done: false } })
    await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())), 5000)
    await collection.insert({ id: 'c', title: 'Gamma', done: false }).isPersisted.promise
    expect(collection.get('c')?.title).toBe('Gamma')
  })

  test('concurrent writes to one row are broadcast in the order the server applied them', async () => {
    const store = todoStore([{ id: 'x', title: 'Start', done: false }])
    const write = store.source.write
    let firstApplied!: () => void
    const applied = new Promise<void>((resolve) => {
      firstApplied = resolve
    })
    let releaseFirst!: () => void
    const held = new Promise<void>((resolve) => {
      releaseFirst = resolve
    })
    store.source.write = async (ops, context) => {
      const result = write?.(ops, context)
      // The first write is slow to return after it was applied (a slow commit acknowledgement).
      if ((ops[0] as { value?: Todo }).value?.title === 'First') {
        firstApplied()
        await held
      }
      return result
    }
    const server = await serve(store)
    const alice = todos(server.client('alice'))
    const bob = todos(server.client('bob'))
    await Promise.all([alice.preload(), bob.preload()])
    const first = alice.update('x', (draft) => {
      draft.title = 'First'
    })
    await applied
    const second = bob.update('x', (draft) => {
      draft.title = 'Second'
    })
    // Gives Bob's write time to reach the server while Alice's is still held (it must wait for it).
    await new Promise((resolve) => setTimeout(resolve, 50))
    releaseFirst()
    await Promise.all([first.isPersisted.promise, second.isPersisted.promise])
    expect(store.rows.get('x')?.title).toBe('Second')
    await eventually(() => {
      expect(alice.get('x')?.title).toBe('Second')
      expect(bob.get('x')?.title).toBe('Second')
    })
  })
}
