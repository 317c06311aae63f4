// @vitest-environment jsdom

import { useLiveCollection } from '@tanstack/react-realtime/collections'
import { defineChannel, liveCollectionOptions, type RealtimeClient } from '@tanstack/realtime'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { startTodoServer, type Todo } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { eventually, makeClient } from './support.js'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

const todosChannel = defineChannel<{ teamId: string }>('todos')

/** The shared todo server: one row 'Existing', writes held while `hold()`, empty titles rejected. */
let todos: Awaited<ReturnType<typeof startTodoServer>>
let client: RealtimeClient
beforeEach(async () => {
  todos = await startTodoServer()
  client = makeClient(todos.server, 'alice')
})
afterEach(async () => {
  cleanup()
  client.disconnect()
  await todos.server.stop()
})

function Todos({ teamId }: { teamId: string }) {
  const { data: rows, collection } = useLiveCollection(
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
        {rows.map((t) => (
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
  expect(todos.server.realtime.engine.subscriberCount(todosChannel({ teamId: 't1' }))).toBe(1)
  todos.rows.set('2', { id: '2', title: 'Pushed' })
  await todos.server.realtime.publish(todosChannel({ teamId: 't1' }), {
    changes: [{ type: 'insert', value: { id: '2', title: 'Pushed' } }],
  })
  await eventually(() => expect(items()).toEqual(['Existing', 'Pushed', 'Existing', 'Pushed']))
})

test('renders optimistic rows at once, keeps them when confirmed, and rolls back rejected ones', async () => {
  render(<Todos teamId="t2" />)
  await eventually(() => expect(items()).toEqual(['Existing']))
  todos.hold()
  fireEvent.click(screen.getByText('add'))
  // Shown before the server has applied the write.
  await eventually(() => expect(items()).toEqual(['Existing', 'Optimistic']))
  expect(todos.rows.has('Optimistic')).toBe(false)
  todos.release()
  await eventually(() => expect(todos.rows.has('Optimistic')).toBe(true))
  // The barrier: the confirmation resolves once the server's change is in the collection.
  await eventually(() => expect(persisted).toEqual(['Optimistic']))
  expect(items()).toEqual(['Existing', 'Optimistic'])

  fireEvent.click(screen.getByText('add invalid'))
  await eventually(() => expect(errors).toEqual(['A todo needs a title.']))
  await eventually(() => expect(items()).toEqual(['Existing', 'Optimistic']))
})
