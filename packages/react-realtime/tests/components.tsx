// Components and the two-client scenario shared by the React tests on both presets (Node here,
// workerd in @tanstack/realtime-preset-workerd's tests): the hooks must behave the same on either.

import {
  presenceChannel,
  RealtimeProvider,
  usePresence,
  usePublish,
  useRealtime,
  useSubscribe,
} from '@tanstack/react-realtime'
import type { ChannelKey, RealtimeClient } from '@tanstack/realtime'
import { fireEvent, render, screen } from '@testing-library/react'
import { type ReactNode, StrictMode, useState } from 'react'
import { expect } from 'vitest'
import { eventually } from '../../realtime/tests/support/helpers.js'

// Updates arrive from a real socket, outside act(); let React apply them as in a browser.
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

export const cursors = presenceChannel<
  { documentId: string },
  { name: string; cursor: { x: number; y: number } | null }
>('cursors')

export function Chat({ roomId, label }: { roomId: string; label: string }) {
  const [messages, setMessages] = useState<string[]>([])
  useSubscribe(['chat', { roomId }], (msg) => setMessages((prev) => [...prev, String(msg)]))
  const publish = usePublish(['chat', { roomId }])
  return (
    <div>
      <button type="button" onClick={() => publish(`hello from ${label}`)}>
        send {label}
      </button>
      <ul aria-label={`messages ${label}`}>
        {messages.map((m, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: an append-only list
          <li key={i}>{m}</li>
        ))}
      </ul>
    </div>
  )
}

export function Cursors({ name }: { name: string }) {
  const { others, updatePresence, status } = usePresence(cursors, {
    params: { documentId: 'doc' },
    initial: { name, cursor: null },
  })
  return (
    <div data-testid={`cursors ${name}`} data-status={status}>
      <button type="button" onClick={() => updatePresence({ cursor: { x: 5, y: 7 } })}>
        move {name}
      </button>
      {others.map((u) => (
        <span key={u.connectionId}>
          {u.state.name}@{u.state.cursor ? `${u.state.cursor.x},${u.state.cursor.y}` : 'none'}
        </span>
      ))}
    </div>
  )
}

export function Status({ label }: { label: string }) {
  const { status } = useRealtime()
  return <span data-testid={`status ${label}`}>{status}</span>
}

/** `children` under a provider for `client`, in StrictMode (its double mount must change nothing). */
export const app = (client: RealtimeClient, children: ReactNode) => (
  <StrictMode>
    <RealtimeProvider client={client}>{children}</RealtimeProvider>
  </StrictMode>
)

/**
 * Two components in two clients see each other's messages and presence: join, cursor update, and
 * leave on unmount. `subscriberCount` reads the server's count of subscriptions to a channel.
 */
export async function twoClientsSeeEachOther(
  alice: RealtimeClient,
  bob: RealtimeClient,
  subscriberCount: (channel: ChannelKey) => number | Promise<number>,
) {
  render(app(alice, [<Status key="s" label="alice" />, <Chat key="c" roomId="1" label="alice" />]))
  const bobTree = render(app(bob, [<Chat key="c" roomId="1" label="bob" />, <Cursors key="p" name="Bob" />]))
  const aliceCursors = render(app(alice, <Cursors name="Alice" />))

  await eventually(() => expect(screen.getByTestId('status alice').textContent).toBe('connected'))
  await eventually(async () => expect(await subscriberCount(['chat', { roomId: '1' }])).toBe(2))
  fireEvent.click(screen.getByText('send alice'))
  await eventually(() => {
    expect(screen.getByLabelText('messages bob').textContent).toBe('hello from alice')
    expect(screen.getByLabelText('messages alice').textContent).toBe('hello from alice')
  })

  // Join
  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toContain('Alice@none'))
  await eventually(() => expect(screen.getByTestId('cursors Alice').textContent).toContain('Bob@none'))
  // Cursor update
  fireEvent.click(screen.getByText('move Alice'))
  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toContain('Alice@5,7'))
  // Leave on unmount
  aliceCursors.unmount()
  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toBe('move Bob'))
  bobTree.unmount()
}
