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
import { afterEach, expect, test } from 'vitest'
import {
  closeClients,
  eventually,
  makeClient,
  startProxy,
  startServer,
  type TestServer,
  type TestServerOptions,
} from '../../realtime-preset-node/tests/helpers.js'

interface Todo {
  id: string
  title: string
  done: boolean
}

const todosChannel = defineChannel<{ teamId: string }>('todos')

/** The server's own store: rows per team, changed by client writes and by server-side publishes. */
function todoStore(initial: Todo[] = []) {
  const rows = new Map(initial.map((todo) => [todo.id, todo]))
  const stats = { loads: 0 }
  const source: CollectionSource<string, Todo> = {
    load: () => {
      stats.loads++
      return [...rows.values()]
    },
    write: (ops) => {
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

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

async function start(store: ReturnType<typeof todoStore>, options: TestServerOptions = {}) {
  server = await startServer({ collections: { todos: store.source }, ...options })
  return server
}

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
function push(target: TestServer, store: ReturnType<typeof todoStore>, change: CollectionChange<Todo>) {
  if (change.type === 'delete') store.rows.delete(String(change.key))
  else store.rows.set(change.value.id, change.value)
  return target.realtime.publish(todosChannel({ teamId: 't1' }), { changes: [change] })
}

/** Rows sorted by id, without TanStack DB's virtual `$` properties. */
const sorted = (rows: Iterable<Todo>) =>
  [...rows].map(({ id, title, done }) => ({ id, title, done })).sort((a, b) => a.id.localeCompare(b.id))

test('a snapshot, then ordered server changes', async () => {
  const store = todoStore([
    { id: 'a', title: 'Alpha', done: false },
    { id: 'b', title: 'Beta', done: true },
  ])
  const srv = await start(store)
  const collection = todos(makeClient(srv, 'alice'))
  await collection.preload()
  expect(sorted(collection.values())).toEqual(sorted(store.rows.values()))

  await push(srv, store, { type: 'insert', value: { id: 'c', title: 'Gamma', done: false } })
  await push(srv, store, { type: 'update', value: { id: 'a', title: 'Alpha', done: true } })
  await push(srv, store, { type: 'delete', key: 'b' })
  // An insert for a row the client already has is applied as an update (no DuplicateKeySyncError).
  await push(srv, store, { type: 'insert', value: { id: 'c', title: 'Gamma!', done: false } })
  await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())))
  expect(collection.get('c')?.title).toBe('Gamma!')
})

test('a live query with where and orderBy updates on server changes', async () => {
  const store = todoStore([
    { id: '1', title: 'Bake', done: false },
    { id: '2', title: 'Archive', done: true },
  ])
  const srv = await start(store)
  const collection = todos(makeClient(srv, 'alice'))
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
  await push(srv, store, { type: 'insert', value: { id: '3', title: 'Answer mail', done: false } })
  await eventually(() => expect(titles()).toEqual(['Answer mail', 'Bake']))
  await push(srv, store, { type: 'update', value: { id: '1', title: 'Bake', done: true } })
  await eventually(() => expect(titles()).toEqual(['Answer mail']))
})

test('optimistic writes settle on the server’s echo without flicker, and two clients converge', async () => {
  const store = todoStore()
  const srv = await start(store)
  const alice = todos(makeClient(srv, 'alice'))
  const bob = todos(makeClient(srv, 'bob'))
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
  const deletion = bob.delete('z')
  await deletion.isPersisted.promise
  const expected = sorted(store.rows.values())
  await eventually(() => {
    expect(sorted(alice.values())).toEqual(expected)
    expect(sorted(bob.values())).toEqual(expected)
  })
  expect(expected.map((todo) => todo.id)).toEqual(['w', 'x', 'y'])
})

test('a rejected write rolls back and the typed error reaches the caller', async () => {
  const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
  const srv = await start(store)
  const collection = todos(makeClient(srv, 'alice'))
  await collection.preload()
  const tx = collection.insert({ id: 'bad', title: '', done: false })
  await expect(tx.isPersisted.promise).rejects.toThrow(InvalidError)
  await expect(tx.isPersisted.promise).rejects.toThrow('A todo needs a title.')
  await eventually(() => expect(collection.has('bad')).toBe(false))
  expect(store.rows.has('bad')).toBe(false)

  // Authorization: without publish permission the write is refused, and rolled back.
  await srv.stop()
  const readOnly = todoStore([{ id: 'a', title: 'Alpha', done: false }])
  const srv2 = await start(readOnly, { authorize: () => ({ subscribe: true, publish: false }) })
  const other = todos(makeClient(srv2, 'bob'))
  await other.preload()
  const denied = other.update('a', (draft) => {
    draft.title = 'Changed'
  })
  await expect(denied.isPersisted.promise).rejects.toMatchObject({ code: 'forbidden' })
  await eventually(() => expect(other.get('a')?.title).toBe('Alpha'))
})

for (const [label, historySize, snapshots] of [
  ['replayed', 500, 1],
  ['reset and reconciled', 3, 2],
] as const) {
  test(`after a network cut during a burst of server changes, rows equal the server's (${label})`, async () => {
    const store = todoStore([{ id: 'seed', title: 'Seed', done: false }])
    const srv = await start(store, { historySize })
    const proxy = await startProxy(srv.port)
    const client = makeClient(proxy, 'alice')
    const collection = todos(client)
    await collection.preload()
    let n = 0
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const id = `r${n % 7}`
        if (n % 5 === 4) await push(srv, store, { type: 'delete', key: id })
        else await push(srv, store, { type: 'insert', value: { id, title: `v${n}`, done: n % 2 === 0 } })
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
  const srv = await start(store)
  const collection = todos(makeClient(srv, 'alice'), { gcTime: 50 })
  const subscription = collection.subscribeChanges(() => {})
  await collection.preload()
  const key = todosChannel({ teamId: 't1' })
  expect(srv.realtime.engine.subscriberCount(key)).toBe(1)
  subscription.unsubscribe()
  await eventually(() => expect(srv.realtime.engine.subscriberCount(key)).toBe(0))
  expect(collection.status).toBe('cleaned-up')
})

test('snapshots of a channel without a collection source fail with a typed error', async () => {
  const srv = await start(todoStore())
  const client = makeClient(srv, 'alice')
  await expect(collectionSnapshot(client, ['not-a-collection'])).rejects.toThrow(InvalidError)
  await expect(collectionWrite(client, ['not-a-collection'], [{ type: 'delete', key: 1 }])).rejects.toThrow(
    InvalidError,
  )
  const failing = todos(makeClient(srv, 'bob'))
  await srv.stop()
  server = await startServer({
    collections: { todos: { load: () => Promise.reject(new Error('db down')) } },
    onError: () => {},
  })
  const broken = createCollection(
    liveCollectionOptions({ client: makeClient(server, 'carol'), channel: ['todos'], getId: (t: Todo) => t.id }),
  )
  await expect(broken.preload()).rejects.toMatchObject({ code: 'internal' })
  expect(failing.status).toBe('idle')
})

test('a failed snapshot is retried, and the collection recovers and keeps applying changes', async () => {
  const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
  let failures = 1
  const load = store.source.load
  store.source.load = (channel, identity) => {
    if (failures-- > 0) throw new Error('database warming up')
    return load(channel, identity)
  }
  const srv = await start(store, { onError: () => {} })
  const collection = todos(makeClient(srv, 'alice'))
  await expect(collection.preload()).rejects.toMatchObject({ code: 'internal' })
  await eventually(() => expect(collection.status).toBe('ready'), 5000)
  expect(sorted(collection.values())).toEqual(sorted(store.rows.values()))
  await push(srv, store, { type: 'insert', value: { id: 'b', title: 'Beta', done: false } })
  await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())))
})

test('a failed refetch rejects, is retried, and the collection keeps applying changes', async () => {
  const store = todoStore([{ id: 'a', title: 'Alpha', done: false }])
  const srv = await start(store, { onError: () => {} })
  const collection = todos(makeClient(srv, 'alice'))
  await collection.preload()
  const load = store.source.load
  let failures = 1
  store.source.load = (channel, identity) => {
    if (failures-- > 0) throw new Error('replica lagging')
    return load(channel, identity)
  }
  await expect(collection.utils.refetch()).rejects.toMatchObject({ code: 'internal' })
  await push(srv, store, { type: 'insert', value: { id: 'b', title: 'Beta', done: false } })
  await eventually(() => expect(sorted(collection.values())).toEqual(sorted(store.rows.values())), 5000)
  await collection.insert({ id: 'c', title: 'Gamma', done: false }).isPersisted.promise
  expect(collection.get('c')?.title).toBe('Gamma')
})

test('concurrent writes to one row are broadcast in the order the server applied them', async () => {
  const store = todoStore([{ id: 'x', title: 'Start', done: false }])
  const write = store.source.write
  store.source.write = async (ops, context) => {
    const result = write?.(ops, context)
    // The first write is slow to return after it was applied (a slow commit acknowledgement).
    if ((ops[0] as { value?: Todo }).value?.title === 'First') await new Promise((resolve) => setTimeout(resolve, 50))
    return result
  }
  const srv = await start(store)
  const alice = todos(makeClient(srv, 'alice'))
  const bob = todos(makeClient(srv, 'bob'))
  await Promise.all([alice.preload(), bob.preload()])
  const first = alice.update('x', (draft) => {
    draft.title = 'First'
  })
  await new Promise((resolve) => setTimeout(resolve, 10))
  const second = bob.update('x', (draft) => {
    draft.title = 'Second'
  })
  await Promise.all([first.isPersisted.promise, second.isPersisted.promise])
  expect(store.rows.get('x')?.title).toBe('Second')
  await eventually(() => {
    expect(alice.get('x')?.title).toBe('Second')
    expect(bob.get('x')?.title).toBe('Second')
  })
})
