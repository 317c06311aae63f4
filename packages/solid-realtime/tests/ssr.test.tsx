import type { RealtimeClient } from '@tanstack/realtime'
import {
  presenceChannel,
  RealtimeProvider,
  usePresence,
  usePublish,
  useRealtime,
  useSubscribe,
} from '@tanstack/solid-realtime'
import { renderToString } from 'solid-js/web'
import { afterEach, test } from 'vitest'
import { serverRenderingOpensNoSocket } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'

const editor = presenceChannel<{ documentId: string }>()

function Page() {
  const realtime = useRealtime()
  useSubscribe(['chat', { roomId: '1' }], () => {})
  const publish = usePublish(['chat', { roomId: '1' }])
  const presence = usePresence(editor, { params: { documentId: 'd' }, initial: { name: 'SSR' } })
  return <p>{`${realtime.status}|${presence.others.length}|${String(presence.self)}|${typeof publish}`}</p>
}

let server: TestServer | undefined
afterEach(() => server?.stop())

test('rendering on the server opens no connection and gives a stable initial state', async () => {
  server = await startServer()
  await serverRenderingOpensNoSocket(server, async (client: RealtimeClient) =>
    renderToString(() => (
      <RealtimeProvider client={client}>
        <Page />
      </RealtimeProvider>
    )),
  )
})
