// @vitest-environment jsdom

import { RealtimeProvider, usePublish, useRealtime, useSubscribe } from '@tanstack/react-realtime'
import { defineChannel, getPresence, type RealtimeClient, ValidationError } from '@tanstack/realtime'
import { act, cleanup, fireEvent, render, renderHook, screen } from '@testing-library/react'
import { type ReactNode, StrictMode, useState } from 'react'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { z } from 'zod'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'
import { Chat, Cursors, cursors, twoClientsSeeEachOther } from './components.js'
import { eventually, makeClient, startReactServer } from './support.js'

let server: TestServer
const clients: RealtimeClient[] = []
const client = (token: string) => {
  const made = makeClient(server, token)
  clients.push(made)
  return made
}

beforeEach(async () => {
  server = await startReactServer()
})
afterEach(async () => {
  cleanup()
  for (const made of clients.splice(0)) made.disconnect()
  await server.stop()
})

const withClient = (made: RealtimeClient, children: ReactNode) => (
  <RealtimeProvider client={made}>{children}</RealtimeProvider>
)

test('two components in two clients see each other’s messages and presence', async () => {
  await twoClientsSeeEachOther(client('alice'), client('bob'), (channel) =>
    server.realtime.engine.subscriberCount(channel),
  )
})

test('StrictMode leaves exactly one server subscription and shows others no leave and join', async () => {
  const observer = client('observer')
  const presence = getPresence(observer, cursors({ documentId: 'doc' }))
  await presence.enter({ name: 'Observer', cursor: null }).ready
  const seen: number[] = []
  presence.subscribe(() => seen.push(presence.getSnapshot().others.length))

  const alice = client('alice')
  render(
    <StrictMode>
      {withClient(alice, [<Chat key="c" roomId="strict" label="alice" />, <Cursors key="p" name="Alice" />])}
    </StrictMode>,
  )
  await eventually(() => expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'strict' }])).toBe(1))
  await eventually(() => expect(screen.getByTestId('cursors Alice').dataset.status).toBe('joined'))
  await eventually(() => expect(seen.at(-1)).toBe(1))
  // The barrier: Alice's update goes after any unsubscribe or leave on her connection, and reaches the
  // observer after any leave the server sent it.
  fireEvent.click(screen.getByText('move Alice'))
  await eventually(() => expect(presence.getSnapshot().others[0]?.state.cursor).toEqual({ x: 5, y: 7 }))
  expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'strict' }])).toBe(1)
  expect(seen).toEqual([1, 1]) // one join and the barrier's update, never a leave
  expect(server.realtime.server.stats().connections).toBe(2)
})

test('changing params moves the subscription; the old channel delivers nothing after the switch', async () => {
  const alice = client('alice')
  const view = render(withClient(alice, <Chat roomId="a" label="alice" />))
  await eventually(() => expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'a' }])).toBe(1))
  await server.realtime.publish(['chat', { roomId: 'a' }], 'in a')
  await eventually(() => expect(screen.getByLabelText('messages alice').textContent).toBe('in a'))

  view.rerender(withClient(alice, <Chat roomId="b" label="alice" />))
  // The old channel's message published right at the switch is not delivered.
  await server.realtime.publish(['chat', { roomId: 'a' }], 'late in a')
  await eventually(() => {
    expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'a' }])).toBe(0)
    expect(server.realtime.engine.subscriberCount(['chat', { roomId: 'b' }])).toBe(1)
  })
  await server.realtime.publish(['chat', { roomId: 'b' }], 'in b')
  await eventually(() => expect(screen.getByLabelText('messages alice').textContent).toBe('in ain b'))
})

const renders = { subscriber: 0, sibling: 0 }
function Subscriber() {
  renders.subscriber++
  const [last, setLast] = useState('')
  const { status } = useSubscribe(['ticks'], (msg) => setLast(String(msg)))
  return (
    <span data-testid="last" data-status={status}>
      {last}
    </span>
  )
}
/** Shows the last message of `['marker']`: a barrier, published after what the test waits out. */
function Marker() {
  const [last, setLast] = useState('')
  useSubscribe(['marker'], (msg) => setLast(String(msg)))
  return <span data-testid="marker">{last}</span>
}
function Sibling() {
  renders.sibling++
  return <span>static</span>
}

test('a message renders the subscribing component once and nothing else', async () => {
  const alice = client('alice')
  render(withClient(alice, [<Subscriber key="a" />, <Sibling key="b" />, <Marker key="m" />]))
  await eventually(() => expect(server.realtime.engine.subscriberCount(['ticks'])).toBe(1))
  await eventually(() => expect(alice.status.getSnapshot()).toBe('connected'))
  // Live: the subscription's state changes no more, so neither do the renders it causes.
  await eventually(() => expect(screen.getByTestId('last').dataset.status).toBe('live'))
  await eventually(() => expect(server.realtime.engine.subscriberCount(['marker'])).toBe(1))
  const before = { ...renders }
  await server.realtime.publish(['ticks'], 'one')
  await eventually(() => expect(screen.getByTestId('last').textContent).toBe('one'))
  // The barrier: sent after 'one' on the same connection, so any render 'one' causes comes first.
  await server.realtime.publish(['marker'], 'after one')
  await eventually(() => expect(screen.getByTestId('marker').textContent).toBe('after one'))
  expect(renders.subscriber - before.subscriber).toBe(1)
  expect(renders.sibling - before.sibling).toBe(0)
})

function Orphan() {
  useRealtime()
  return null
}

test('hooks outside the provider throw a clear error', () => {
  const original = console.error
  console.error = () => {}
  try {
    expect(() => render(<Orphan />)).toThrow('useRealtime must be used inside <RealtimeProvider client={client}>.')
  } finally {
    console.error = original
  }
})

function Controls() {
  const { status, connect, disconnect } = useRealtime()
  return (
    <div>
      <span data-testid="status">{status}</span>
      <button type="button" onClick={disconnect}>
        off
      </button>
      <button type="button" onClick={connect}>
        on
      </button>
    </div>
  )
}

test('useRealtime disconnects and connects', async () => {
  const alice = client('alice')
  render(withClient(alice, <Controls />))
  expect(screen.getByTestId('status').textContent).toBe('disconnected')
  act(() => fireEvent.click(screen.getByText('on')))
  await eventually(() => expect(screen.getByTestId('status').textContent).toBe('connected'))
  act(() => fireEvent.click(screen.getByText('off')))
  await eventually(() => expect(screen.getByTestId('status').textContent).toBe('disconnected'))
})

function Feed({ channel, rewind }: { channel: string; rewind?: number }) {
  const [enabled, setEnabled] = useState(true)
  const [messages, setMessages] = useState<string[]>([])
  const { status, error } = useSubscribe([channel], (message) => setMessages((prev) => [...prev, String(message)]), {
    enabled,
    ...(rewind !== undefined && { rewind }),
  })
  return (
    <div data-testid={`feed ${channel}`} data-status={status} data-error={error?.name ?? ''}>
      {messages.join(',')}
      <button type="button" onClick={() => setEnabled((on) => !on)}>
        toggle {channel}
      </button>
    </div>
  )
}

const feed = (channel: string) => screen.getByTestId(`feed ${channel}`)

test('useSubscribe returns the subscription status: live, resubscribing while the server is away, idle while disabled', async () => {
  const alice = client('alice')
  render(withClient(alice, <Feed channel="news" />))
  expect(['idle', 'subscribing']).toContain(feed('news').dataset.status)
  await eventually(() => expect(feed('news').dataset.status).toBe('live'))
  const seen = new Set<string>()
  const observer = new MutationObserver(() => seen.add(feed('news').dataset.status ?? ''))
  observer.observe(feed('news'), { attributes: true })
  await server.stop()
  await server.restart()
  await eventually(() => expect(seen).toContain('resubscribing'))
  await eventually(() => expect(feed('news').dataset.status).toBe('live'))
  observer.disconnect()
  await server.realtime.publish(['news'], 'after the restart')
  await eventually(() => expect(feed('news').textContent).toContain('after the restart'))
  act(() => fireEvent.click(screen.getByText('toggle news')))
  expect(feed('news').dataset.status).toBe('idle')
})

test('useSubscribe shows the error that ended the subscription', async () => {
  await server.stop()
  server = await startServer({ authorize: (_user, [name]) => (name === 'secret' ? null : { subscribe: true }) })
  render(withClient(client('alice'), [<Feed key="s" channel="secret" />, <Feed key="o" channel="open" />]))
  await eventually(() => expect(feed('secret').dataset.status).toBe('failed'))
  expect(feed('secret').dataset.error).toBe('ForbiddenError')
  await eventually(() => expect(feed('open').dataset.status).toBe('live'))
  expect(feed('open').dataset.error).toBe('')
})

test('useSubscribe with rewind: a component mounted later shows the recent messages first', async () => {
  const alice = client('alice')
  const { rerender } = render(withClient(alice, <Feed channel="room" rewind={3} />))
  await eventually(() => expect(feed('room').dataset.status).toBe('live'))
  for (const text of ['a', 'b', 'c', 'd']) await alice.publish(['room'], text)
  await eventually(() => expect(feed('room').textContent).toContain('a,b,c,d'))
  rerender(withClient(alice, [<Feed key="1" channel="room" rewind={3} />, <LateFeed key="2" />]))
  await eventually(() => expect(screen.getByTestId('late').textContent).toBe('c,d'))
})

function LateFeed() {
  const [messages, setMessages] = useState<string[]>([])
  useSubscribe(['room'], (message) => setMessages((prev) => [...prev, String(message)]), { rewind: 2 })
  return <div data-testid="late">{messages.join(',')}</div>
}

test("usePublish of a definition's key refuses invalid data with ValidationError before sending", async () => {
  // The server has no schema: anything sent would be delivered.
  const notes = defineChannel('notes', { message: z.object({ text: z.string().min(1) }) })
  const received: unknown[] = []
  await client('bob').subscribe(['notes'], (msg) => received.push(msg)).ready
  const alice = client('alice')
  const { result } = renderHook(() => usePublish(notes()), {
    wrapper: ({ children }: { children: ReactNode }) => withClient(alice, children),
  })
  const error = await result.current({ text: '' }).then(
    () => undefined,
    (failure: unknown) => failure,
  )
  expect(error).toBeInstanceOf(ValidationError)
  expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([['text']])
  // The barrier: the first message the server got.
  expect(await result.current({ text: 'barrier' })).toEqual({ seq: 1 })
  await eventually(() => expect(received).toEqual([{ text: 'barrier' }]))
})
