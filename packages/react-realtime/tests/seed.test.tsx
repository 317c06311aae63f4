// @vitest-environment jsdom
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getPresence } from '@tanstack/realtime'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { TestServer } from '../../realtime-preset-node/tests/helpers.js'
import { startServer } from '../../realtime-preset-node/tests/helpers.js'
import { eventually, makeClient } from './support.js'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

const todoRows = new Map([['1', { id: '1', title: 'Try live collections', done: false }]])
let server: TestServer
beforeAll(async () => {
  server = await startServer({
    collections: {
      todos: {
        load: () => [...todoRows.values()],
        write: (ops) => {
          for (const op of ops) if (op.type === 'delete') todoRows.delete(String(op.key))
          return undefined
        },
      },
    },
  })
  process.env.SEED_REALTIME_URL = server.url
})
afterAll(async () => {
  cleanup()
  const { client } = await import('./fixtures/client.js')
  client.disconnect()
  await server.stop()
})

test("the seed's five React snippets are in the fixture verbatim", () => {
  // Paths, not URL objects: jsdom replaces the global URL class.
  const here = dirname(fileURLToPath(import.meta.url))
  const seed = readFileSync(join(here, '../../../docs/seed.md'), 'utf8')
  const fixture = readFileSync(join(here, 'fixtures/seed-react.tsx'), 'utf8')
  const blocks = [...seed.matchAll(/```tsx\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  expect(blocks).toHaveLength(5)
  for (const block of blocks) expect(fixture).toContain(block)
})

test("the README's React snippets are the seed's or in a tested fixture, verbatim", () => {
  const here = dirname(fileURLToPath(import.meta.url))
  const readme = readFileSync(join(here, '../../../README.md'), 'utf8')
  const fixtures = ['fixtures/seed-react.tsx', 'fixtures/readme-live.tsx'].map((file) =>
    readFileSync(join(here, file), 'utf8'),
  )
  const blocks = [...readme.matchAll(/```tsx\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  expect(blocks.length).toBe(7)
  for (const block of blocks)
    expect(
      fixtures.some((fixture) => fixture.includes(block)),
      block,
    ).toBe(true)
})

test("the README's live collection snippets render live rows", async () => {
  const { RealtimeProvider } = await import('@tanstack/react-realtime')
  const { OpenTodos, Todos } = await import('./fixtures/readme-live.js')
  const { client } = await import('./fixtures/client.js')
  const { createCollection } = await import('@tanstack/db')
  const { liveCollectionOptions } = await import('@tanstack/realtime')
  const view = render(
    <RealtimeProvider client={client}>
      <Todos teamId="t1" />
    </RealtimeProvider>,
  )
  await eventually(() => expect(screen.getByText('Try live collections')).toBeTruthy())
  fireEvent.click(screen.getByText('Try live collections')) // deletes it, optimistically then for real
  await eventually(() => expect(todoRows.size).toBe(0))
  await eventually(() => expect(screen.queryByText('Try live collections')).toBeNull())
  view.unmount()

  todoRows.set('2', { id: '2', title: 'Open one', done: false })
  todoRows.set('3', { id: '3', title: 'Done one', done: true })
  const todos = createCollection(
    liveCollectionOptions({ client, channel: ['todos', { teamId: 't2' }], getId: (todo: { id: string }) => todo.id }),
  )
  render(<OpenTodos todos={todos as never} />)
  await eventually(() => expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Open one']))
  cleanup()
})

test("the seed's React snippets work as pasted", async () => {
  const { App } = await import('./fixtures/seed-react.js')
  render(<App />)
  await eventually(() => expect(screen.getByText('connected')).toBeTruthy())

  // Chat: the Send button publishes 'Hello!' and the subscribed list shows it.
  await eventually(() => expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'seed' }])).toBe(1))
  fireEvent.click(screen.getByText('Send'))
  await eventually(() => expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Hello!']))

  // Presence: another user on the same document appears as a cursor and moves.
  const other = makeClient(server, 'grace')
  const presence = getPresence(other, ['presence', { documentId: 'doc-1' }])
  await presence.enter({ cursor: null, name: 'Grace' }).ready
  await eventually(() => expect(screen.getByTestId('cursor').textContent).toBe('Grace:none'))
  presence.update({ cursor: { x: 3, y: 4 } })
  await eventually(() => expect(screen.getByTestId('cursor').textContent).toBe('Grace:3,4'))
  // ...and sees this user's state change when the mouse moves over the editor.
  await eventually(() => expect(presence.getSnapshot().others.map((m) => m.state.name)).toEqual(['Ada']))
  const editor = screen.getByTestId('cursor').parentElement as HTMLElement
  fireEvent.mouseMove(editor, { clientX: 11, clientY: 12 })
  await eventually(() => expect(presence.getSnapshot().others[0]?.state.cursor).toEqual({ x: 11, y: 12 }))
  other.disconnect()
  await eventually(() => expect(screen.queryByTestId('cursor')).toBeNull())
})
