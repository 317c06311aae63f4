// What every framework adapter (Vue, Solid, Svelte) must do, written once against the DOM and a real
// Node server. Each adapter's tests mount their own components, which render the same markup:
//
//   status:  <span data-testid="status {label}">{status}</span>
//   chat:    <button>send {label}</button> <ul aria-label="messages {label}"><li>{message}</li>...</ul>
//            (subscribes to and publishes `hello from {label}` on ['chat', { roomId: room }])
//   cursors: <div data-testid="cursors {name}" data-status="{presence status}"><button>move {name}</button>
//            <span>{other's name}@{x},{y} or @none</span>...</div>  (presence on cursors({ documentId: 'doc' }))
//   todos:   <button>add {label}</button> <button>add empty {label}</button> <p role="alert">{error}</p>
//            <ul aria-label="todos {label}"><li>{title}</li>...</ul>  (the live collection of todosChannel({ teamId: 't' }))
//   ssr:     <p>{status}|{others.length}|{String(self)}|{typeof publish}</p>  (subscribes, publishes and joins)

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createRealtimeClient,
  defineChannel,
  getPresence,
  InvalidError,
  presenceChannel,
  type RealtimeClient,
  type RealtimeTransport,
} from '@tanstack/realtime'
import type { CollectionSource } from '@tanstack/realtime/server'
import { nodeTransport, type WebSocketConstructor } from '@tanstack/realtime-preset-node'
import { fireEvent, screen } from '@testing-library/dom'
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { eventually, startServer, type TestServer } from './helpers.js'

export const cursors = presenceChannel<
  { documentId: string },
  { name: string; cursor: { x: number; y: number } | null }
>('cursors')

export interface Todo {
  id: string
  title: string
}
export const todosChannel = defineChannel<{ teamId: string }>('todos')

export type Part =
  | { status: string }
  | { chat: string; room: string }
  | { cursors: string }
  | { todos: string; client: RealtimeClient }

export interface Mounted {
  /** Moves the mounted chats to another room (their params change). */
  setRoom(room: string): void | Promise<void>
  unmount(): void
}

/** Mounts `parts` in the DOM under the adapter's provider of `client`. */
export type Mount = (client: RealtimeClient, parts: Part[]) => Mounted

/** A todo insert `add {label}` makes: `from {label} {n}`. */
export const todoFrom = (label: string, n: number): Todo => ({ id: `${label}-${n}`, title: `from ${label} ${n}` })

/**
 * A real client over npm `ws` (jsdom's own WebSocket does not work under vitest) whose token, and so
 * user id, is `token`.
 */
export function wsClient(server: { url: string }, token: string): RealtimeClient {
  return createRealtimeClient({
    transport: nodeTransport({
      url: server.url,
      getAuthToken: () => token,
      WebSocket: WebSocket as WebSocketConstructor,
    }),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    presenceThrottleMs: 0,
  })
}

const text = (testId: string) => screen.getByTestId(testId).textContent
const list = (label: string) => Array.from(screen.getByLabelText(label).querySelectorAll('li'), (li) => li.textContent)

/**
 * Two clients see each other's messages and presence: join, update, and leave on unmount; once every
 * component is unmounted the server has no subscription left.
 */
export async function twoClientsSeeEachOther(
  server: TestServer,
  mount: Mount,
  alice: RealtimeClient,
  bob: RealtimeClient,
) {
  const chat = ['chat', { roomId: '1' }] as const
  const aliceChat = mount(alice, [{ status: 'alice' }, { chat: 'alice', room: '1' }])
  const bobParts = mount(bob, [{ chat: 'bob', room: '1' }, { cursors: 'Bob' }])
  const aliceCursors = mount(alice, [{ cursors: 'Alice' }])

  await eventually(() => expect(text('status alice')).toBe('connected'))
  await eventually(() => expect(server.realtime.engine.subscriberCount(chat)).toBe(2))
  fireEvent.click(screen.getByText('send alice'))
  await eventually(() => {
    expect(list('messages bob')).toEqual(['hello from alice'])
    expect(list('messages alice')).toEqual(['hello from alice'])
  })

  // Join
  await eventually(() => expect(text('cursors Bob')).toContain('Alice@none'))
  await eventually(() => expect(text('cursors Alice')).toContain('Bob@none'))
  expect(screen.getByTestId('cursors Alice').dataset.status).toBe('joined')
  // Update
  fireEvent.click(screen.getByText('move Alice'))
  await eventually(() => expect(text('cursors Bob')).toContain('Alice@5,7'))
  // Leave on unmount
  aliceCursors.unmount()
  await eventually(() => expect(text('cursors Bob')).toBe('move Bob'))

  aliceChat.unmount()
  bobParts.unmount()
  await eventually(() => expect(server.realtime.engine.subscriberCount(chat)).toBe(0))
  await eventually(() => expect(server.realtime.engine.subscriberCount(cursors({ documentId: 'doc' }))).toBe(0))
}

/** The status shows the server going away and coming back, and the subscription resumes. */
export async function statusFollowsARestart(server: TestServer, mount: Mount, client: RealtimeClient) {
  const chat = ['chat', { roomId: 'restart' }] as const
  mount(client, [{ status: 'c' }, { chat: 'c', room: 'restart' }])
  await eventually(() => expect(text('status c')).toBe('connected'))
  await server.stop()
  await eventually(() => expect(text('status c')).toBe('reconnecting'))
  await server.restart()
  await eventually(() => expect(text('status c')).toBe('connected'))
  await eventually(() => expect(server.realtime.engine.subscriberCount(chat)).toBe(1))
  await server.realtime.publish(chat, 'after the restart')
  await eventually(() => expect(list('messages c')).toEqual(['after the restart']))
}

/** New params move the subscription; the old channel delivers nothing after the switch. */
export async function paramsMoveTheSubscription(server: TestServer, mount: Mount, client: RealtimeClient) {
  const [a, b] = [['chat', { roomId: 'a' }] as const, ['chat', { roomId: 'b' }] as const]
  const view = mount(client, [{ chat: 'c', room: 'a' }])
  await eventually(() => expect(server.realtime.engine.subscriberCount(a)).toBe(1))
  await server.realtime.publish(a, 'in a')
  await eventually(() => expect(list('messages c')).toEqual(['in a']))

  await view.setRoom('b')
  await server.realtime.publish(a, 'late in a') // published at the switch: not shown
  await eventually(() => {
    expect(server.realtime.engine.subscriberCount(a)).toBe(0)
    expect(server.realtime.engine.subscriberCount(b)).toBe(1)
  })
  await server.realtime.publish(b, 'in b') // the barrier: 'late in a' would have come before it
  await eventually(() => expect(list('messages c')).toEqual(['in a', 'in b']))
  view.unmount()
}

/** A Node server whose `todos` collection holds writes until `release()` and rejects empty titles. */
export async function startTodoServer() {
  const rows = new Map<string, Todo>([['0', { id: '0', title: 'Existing' }]])
  let gate: Promise<void> = Promise.resolve()
  let release = () => {}
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
  const server = await startServer({ collections: { todos: source } })
  return {
    server,
    rows,
    /** Holds the server's writes until `release()`. */
    hold() {
      gate = new Promise((resolve) => {
        release = resolve
      })
    },
    release: () => release(),
  }
}

/**
 * A live collection syncs between two clients: an insert shows at once (optimistically) in its own
 * client, reaches the other once the server applied it, and a rejected insert rolls back with its error.
 */
export async function liveCollectionSyncs(
  todos: Awaited<ReturnType<typeof startTodoServer>>,
  mount: Mount,
  alice: RealtimeClient,
  bob: RealtimeClient,
) {
  mount(alice, [{ todos: 'alice', client: alice }])
  mount(bob, [{ todos: 'bob', client: bob }])
  await eventually(() => expect(list('todos alice')).toEqual(['Existing']))
  await eventually(() => expect(list('todos bob')).toEqual(['Existing']))
  expect(todos.server.realtime.engine.subscriberCount(todosChannel({ teamId: 't' }))).toBe(2)

  todos.hold()
  fireEvent.click(screen.getByText('add alice'))
  await eventually(() => expect(list('todos alice')).toEqual(['Existing', todoFrom('alice', 1).title]))
  expect(todos.rows.has(todoFrom('alice', 1).id)).toBe(false) // shown before the server applied it
  todos.release()
  await eventually(() => expect(list('todos bob')).toEqual(['Existing', todoFrom('alice', 1).title]))
  expect(list('todos alice')).toEqual(['Existing', todoFrom('alice', 1).title])

  fireEvent.click(screen.getByText('add bob'))
  await eventually(() => expect(list('todos alice')).toEqual(['Existing', 'from alice 1', 'from bob 1']))

  fireEvent.click(screen.getByText('add empty alice'))
  await eventually(() => expect(screen.getByRole('alert').textContent).toBe('A todo needs a title.'))
  await eventually(() => expect(list('todos alice')).toEqual(['Existing', 'from alice 1', 'from bob 1']))
}

/**
 * A client whose transport counts the sockets it opens, for server-rendering tests: rendering must
 * open none.
 */
export function countingClient(server: TestServer) {
  const counter = { opened: 0 }
  const transport = nodeTransport({ url: server.url, getAuthToken: () => 'ssr' })
  const counting: RealtimeTransport = {
    mode: transport.mode,
    open: (options) => {
      counter.opened++
      return transport.open(options)
    },
  }
  return { client: createRealtimeClient({ transport: counting }), counter }
}

/** Server rendering shows the initial state (twice the same) and opens no connection. */
export async function serverRenderingOpensNoSocket(
  server: TestServer,
  render: (client: RealtimeClient) => Promise<string>,
) {
  const { client, counter } = countingClient(server)
  const html = await render(client)
  // Frameworks add their own hydration markers; the text is what matters.
  expect(html.replace(/<[^>]*>/g, '')).toBe('disconnected|0|undefined|function')
  expect(await render(client)).toBe(html)
  // Anything that asked the client to connect would have moved its status synchronously.
  expect(client.status.getSnapshot()).toBe('disconnected')
  expect(counter.opened).toBe(0)
  expect(server.realtime.server.stats().connections).toBe(0)
}

/**
 * The server the framework guides' snippets run against: a `todos` collection with one open todo, and
 * the URL set where the guides' `./client` fixture (React's `tests/fixtures/client.ts`) reads it.
 */
export async function startGuideServer() {
  const rows = new Map([['1', { id: '1', title: 'Try live collections', done: false }]])
  const server = await startServer({
    collections: {
      todos: {
        load: () => [...rows.values()],
        write: (ops) => {
          for (const op of ops) if (op.type !== 'delete') rows.set(String(op.key), op.value as never)
          return undefined
        },
      },
    },
  })
  process.env.SEED_REALTIME_URL = server.url
  return { server, rows }
}

/** Every block of `languages` in the guide is in one of the fixtures, verbatim (one block per fixture). */
export function guideBlocksAreFixtures(guide: string, languages: string[], fixtures: string[]) {
  const blocks = [...guide.matchAll(/```(\w+)\n([\s\S]*?)```/g)]
    .filter((match) => languages.includes(match[1] ?? ''))
    .map((match) => match[2] ?? '')
  expect(blocks).toHaveLength(fixtures.length)
  for (const block of blocks)
    expect(
      fixtures.some((fixture) => fixture.includes(block)),
      block,
    ).toBe(true)
}

/**
 * The guides' components, mounted by the user's app with a client provided: the badge in
 * `data-testid="badge"`, the chat of room `docs` in `chat`, the presence of document `d1` (as Ada) in
 * `presence`, the todos of team `t1` in `todos`. They connect, chat, show another user, write a todo and
 * disconnect.
 */
export async function guideComponentsWork(guide: Awaited<ReturnType<typeof startGuideServer>>, client: RealtimeClient) {
  const { server, rows } = guide
  // Chat: subscribed (which connects), then Send publishes 'Hello!' and the list shows it.
  await eventually(() => expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'docs' }])).toBe(1))
  await eventually(() => expect(text('badge')).toContain('connected'))
  fireEvent.click(screen.getByText('Send'))
  await eventually(() => expect(screen.getByTestId('chat').querySelector('li')?.textContent).toBe('Hello!'))

  // Presence: another user on the same document is counted and named.
  const grace = wsClient(server, 'grace')
  try {
    await getPresence(grace, ['editor', { documentId: 'd1' }]).enter({ name: 'Grace', cursor: null }).ready
    await eventually(() => expect(text('presence')?.replace(/\s+/g, '')).toBe('2hereGrace'))
  } finally {
    grace.disconnect()
  }

  // Live collection: the row shows, and checking it is written to the server.
  await eventually(() => expect(text('todos')?.trim()).toBe('Try live collections'))
  fireEvent.click(screen.getByRole('checkbox'))
  await eventually(() => expect(rows.get('1')?.done).toBe(true))

  // Connection control.
  fireEvent.click(screen.getByText('Go offline'))
  await eventually(() => expect(text('badge')).toContain('disconnected'))
  expect(client.status.getSnapshot()).toBe('disconnected')
}

/**
 * The tests of a framework guide (`docs/<framework>.md`): each of its `languages` blocks is one of the
 * `fixtures` (files in `dir`) verbatim, and `mount()` (importing the guide's entry fixture, which mounts
 * the user's app into `#app`) gives components that work against a real server.
 */
export function testGuide(options: {
  framework: string
  languages: string[]
  dir: string
  fixtures: string[]
  client: () => Promise<{ client: RealtimeClient }>
  mount: () => Promise<unknown>
}) {
  let guide: Awaited<ReturnType<typeof startGuideServer>>
  beforeAll(async () => {
    guide = await startGuideServer()
  })
  afterAll(async () => {
    ;(await options.client()).client.disconnect() // imported once the server's URL is set
    await guide.server.stop()
  })

  test(`every code block of docs/${options.framework}.md is a tested fixture, verbatim`, () => {
    guideBlocksAreFixtures(
      readFileSync(join(options.dir, `../../../../docs/${options.framework}.md`), 'utf8'),
      options.languages,
      options.fixtures.map((file) => readFileSync(join(options.dir, file), 'utf8')),
    )
  })

  test("the guide's components work as pasted", async () => {
    document.body.innerHTML = '<div id="app"></div>'
    await options.mount()
    await guideComponentsWork(guide, (await options.client()).client)
  })
}

/**
 * An adapter's DOM tests (run them in jsdom): the scenarios above against a real Node server, each with
 * fresh clients, and the error a helper throws without a client provided (`mountOrphan` mounts a
 * component calling `useRealtime()` with none).
 */
export function testAdapter(options: {
  mount: Mount
  cleanup: () => void
  mountOrphan: () => unknown
  MissingProviderError: new (...args: any[]) => Error
}) {
  let todos: Awaited<ReturnType<typeof startTodoServer>>
  const clients: RealtimeClient[] = []
  const client = (token: string) => {
    const made = wsClient(todos.server, token)
    clients.push(made)
    return made
  }
  beforeEach(async () => {
    todos = await startTodoServer()
  })
  afterEach(async () => {
    options.cleanup()
    for (const made of clients.splice(0)) made.disconnect()
    await todos.server.stop()
  })

  test('two clients see each other’s messages and presence; unmounting leaves no server subscription', async () => {
    await twoClientsSeeEachOther(todos.server, options.mount, client('alice'), client('bob'))
  })
  test('the status follows a server restart and the subscription resumes', async () => {
    await statusFollowsARestart(todos.server, options.mount, client('carol'))
  })
  test('new params move the subscription; the old channel delivers nothing after the switch', async () => {
    await paramsMoveTheSubscription(todos.server, options.mount, client('carol'))
  })
  test('a live collection syncs between two clients, optimistically, and rolls back a rejected write', async () => {
    await liveCollectionSyncs(todos, options.mount, client('alice'), client('bob'))
  })
  test('a helper without a client provided throws MissingProviderError', () => {
    const original = console.warn
    console.warn = () => {} // Vue also warns about the failed setup
    try {
      expect(options.mountOrphan).toThrow(options.MissingProviderError)
    } finally {
      console.warn = original
    }
  })
}
