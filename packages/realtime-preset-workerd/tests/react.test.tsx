// @vitest-environment jsdom
/** @jsxRuntime automatic */
/** @jsxImportSource react */

import {
  presenceChannel,
  RealtimeProvider,
  usePresence,
  usePublish,
  useRealtime,
  useSubscribe,
} from '@tanstack/react-realtime'
import type { RealtimeClient } from '@tanstack/realtime'
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { type ReactNode, StrictMode, useState } from 'react'
import { afterEach, expect, test } from 'vitest'
import { eventually } from '../../realtime/tests/support/helpers.js'
import { type HarnessServer, workerdHarness } from './support/workerd.js'

// Updates arrive from a real socket, outside act(); let React apply them as in a browser.
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

let server: HarnessServer | undefined
afterEach(async () => {
  cleanup()
  workerdHarness.closeClients()
  await server?.stop()
  server = undefined
})

const cursors = presenceChannel<{ documentId: string }, { name: string; cursor: { x: number; y: number } | null }>(
  'cursors',
)

function Chat({ roomId, label }: { roomId: string; label: string }) {
  const [messages, setMessages] = useState<string[]>([])
  useSubscribe(['chat', { roomId }], (msg) => setMessages((prev) => [...prev, String(msg)]))
  const publish = usePublish(['chat', { roomId }])
  return (
    <div>
      <button type="button" onClick={() => publish(`hello from ${label}`)}>
        send {label}
      </button>
      <ul aria-label={`messages ${label}`}>
        {messages.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </div>
  )
}

function Cursors({ name }: { name: string }) {
  const { others, updatePresence } = usePresence(cursors, {
    params: { documentId: 'doc' },
    initial: { name, cursor: null },
  })
  return (
    <div data-testid={`cursors ${name}`}>
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

function Status({ label }: { label: string }) {
  const { status } = useRealtime()
  return <span data-testid={`status ${label}`}>{status}</span>
}

const app = (client: RealtimeClient, children: ReactNode) => (
  <StrictMode>
    <RealtimeProvider client={client}>{children}</RealtimeProvider>
  </StrictMode>
)

test('the React hooks work unchanged over workerdTransport, in StrictMode', async () => {
  server = await workerdHarness.start()
  const alice = server.client('alice')
  const bob = server.client('bob')
  render(app(alice, [<Status key="s" label="alice" />, <Chat key="c" roomId="1" label="alice" />]))
  render(app(bob, [<Chat key="c" roomId="1" label="bob" />, <Cursors key="p" name="Bob" />]))
  const aliceCursors = render(app(alice, <Cursors name="Alice" />))

  await eventually(async () => expect(await server?.subscriberCount(['chat', { roomId: '1' }])).toBe(2))
  await eventually(() => expect(screen.getByTestId('status alice').textContent).toBe('connected'))
  fireEvent.click(screen.getByText('send alice'))
  await eventually(() => {
    expect(screen.getByLabelText('messages bob').textContent).toBe('hello from alice')
    expect(screen.getByLabelText('messages alice').textContent).toBe('hello from alice')
  })

  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toContain('Alice@none'))
  await eventually(() => expect(screen.getByTestId('cursors Alice').textContent).toContain('Bob@none'))
  fireEvent.click(screen.getByText('move Alice'))
  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toContain('Alice@5,7'))
  aliceCursors.unmount()
  await eventually(() => expect(screen.getByTestId('cursors Bob').textContent).toBe('move Bob'))
})
