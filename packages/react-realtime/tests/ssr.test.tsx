import {
  presenceChannel,
  RealtimeProvider,
  usePresence,
  usePublish,
  useRealtime,
  useSubscribe,
} from '@tanstack/react-realtime'
import { createRealtimeClient, type RealtimeTransport } from '@tanstack/realtime'
import { nodeTransport } from '@tanstack/realtime-preset-node'
import { renderToString } from 'react-dom/server'
import { afterEach, expect, test } from 'vitest'
import { startReactServer } from './support.js'

const editor = presenceChannel<{ documentId: string }>()

function Page() {
  const { status } = useRealtime()
  useSubscribe(['chat', { roomId: '1' }], () => {})
  const publish = usePublish(['chat', { roomId: '1' }])
  const { others, self } = usePresence(editor, { params: { documentId: 'd' }, initial: { name: 'SSR' } })
  return (
    <p>
      {status}|{others.length}|{String(self)}|{typeof publish}
    </p>
  )
}

let stop: (() => Promise<void>) | undefined
afterEach(() => stop?.())

test('rendering on the server opens no connection and gives a stable initial state', async () => {
  const server = await startReactServer()
  stop = server.stop
  let opened = 0
  const transport = nodeTransport({ url: server.url, getAuthToken: () => 'ssr' })
  const counting: RealtimeTransport = {
    mode: transport.mode,
    open: (options) => {
      opened++
      return transport.open(options)
    },
  }
  const client = createRealtimeClient({ transport: counting })
  const html = renderToString(
    <RealtimeProvider client={client}>
      <Page />
    </RealtimeProvider>,
  )
  expect(html).toBe('<p>disconnected<!-- -->|<!-- -->0<!-- -->|<!-- -->undefined<!-- -->|<!-- -->function</p>')
  expect(
    renderToString(
      <RealtimeProvider client={client}>
        <Page />
      </RealtimeProvider>,
    ),
  ).toBe(html)
  // Anything that asked the client to connect would have moved its status synchronously.
  expect(client.status.getSnapshot()).toBe('disconnected')
  expect(opened).toBe(0)
  expect(server.realtime.server.stats().connections).toBe(0)
})

test('a client module without url can be imported and rendered on the server', () => {
  // In a browser the url comes from window.location; on the server nothing connects, so nothing fails.
  const client = createRealtimeClient({ transport: nodeTransport({ path: '/_realtime' }) })
  const html = renderToString(
    <RealtimeProvider client={client}>
      <Page />
    </RealtimeProvider>,
  )
  expect(html).toContain('disconnected')
})
