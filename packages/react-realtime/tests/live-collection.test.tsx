// @vitest-environment jsdom

import { useLiveCollection } from '@tanstack/react-realtime/collections'
import { defineChannel, InvalidError, liveCollectionOptions, type RealtimeClient } from '@tanstack/realtime'
import type { CollectionSource } from '@tanstack/realtime/server'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'
import { eventually, makeClient } from './support.js'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

interface Todo {
  id: string
  title: string
}

const todosChannel = defineChannel<{ teamId: string }>('todos')
const rows = new Map<string, Todo>()
/** Holds client writes until released, to look at the optimistic state. */
let gate: Promise<void> = Promise.resolve()
const source: CollectionSource<string, Todo> = {
  load: () => [...rows.values()],
  write: async (ops) => {
    await gate
    for (const op of ops) {
      if (op.type === 'delete') rows.delete(String(op.key))
      else if (!op.value.title) throw new InvalidError('A todo needs a title.')
      else rows.set(String(op.key), op.value as unknown as Todo)
    }
    return undefined
  },
}

let server: TestServer
let client: RealtimeClient
beforeEach(async () => {
  rows.clear()
  rows.set('1', { id: '1', title: 'Existing' })
  server = await startServer({ collections: { todos: source } })
  client = makeClient(server, 'alice')
})
afterEach(async () => {
  cleanup()
  client.disconnect()
  await server.stop()
})

function Todos({ teamId }: { teamId: string }) {
  const { data: todos, collection } = useLiveCollection(
    liveCollectionOptions({ client, channel: todosChannel, params: { teamId }, getId: (todo: Todo) => todo.id }),
  )
  const add = (title: string) => {
    const tx = collection.insert({ id: title, title })
    tx.isPersisted.promise.then(
      () => persisted.push(title),
      (error: Error) => errors.push(error.message),
    )
  }
  return (
    <div>
      <button type="button" onClick={() => add('Optimistic')}>
        add
      </button>
      <button type="button" onClick={() => add('')}>
        add invalid
      </button>
      <ul>
        {todos.map((t) => (
          <li key={t.id}>{t.title || '(empty)'}</li>
        ))}
      </ul>
    </div>
  )
}

const errors: string[] = []
/** Titles whose insert the server confirmed (resolved once its change is in the collection). */
const persisted: string[] = []
const items = () => screen.queryAllByRole('listitem').map((li) => li.textContent)

test('renders the live rows, then server changes, and shares one collection between components', async () => {
  render(
    <>
      <Todos teamId="t1" />
      <Todos teamId="t1" />
    </>,
  )
  await eventually(() => expect(items()).toEqual(['Existing', 'Existing']))
  expect(server.realtime.engine.subscriberCount(todosChannel({ teamId: 't1' }))).toBe(1)
  rows.set('2', { id: '2', title: 'Pushed' })
  await server.realtime.publish(todosChannel({ teamId: 't1' }), {
    changes: [{ type: 'insert', value: { id: '2', title: 'Pushed' } }],
  })
  await eventually(() => expect(items()).toEqual(['Existing', 'Pushed', 'Existing', 'Pushed']))
})

test('renders optimistic rows at once, keeps them when confirmed, and rolls back rejected ones', async () => {
  render(<Todos teamId="t2" />)
  await eventually(() => expect(items()).toEqual(['Existing']))
  let release!: () => void
  gate = new Promise((resolve) => {
    release = resolve
  })
  fireEvent.click(screen.getByText('add'))
  // Shown before the server has applied the write.
  await eventually(() => expect(items()).toEqual(['Existing', 'Optimistic']))
  expect(rows.has('Optimistic')).toBe(false)
  release()
  await eventually(() => expect(rows.has('Optimistic')).toBe(true))
  // The barrier: the confirmation resolves once the server's change is in the collection.
  await eventually(() => expect(persisted).toEqual(['Optimistic']))
  expect(items()).toEqual(['Existing', 'Optimistic'])

  fireEvent.click(screen.getByText('add invalid'))
  await eventually(() => expect(errors).toEqual(['A todo needs a title.']))
  await eventually(() => expect(items()).toEqual(['Existing', 'Optimistic']))
})
