import type { RealtimeClient } from '@tanstack/realtime'
import {
  presenceChannel,
  RealtimePlugin,
  usePresence,
  usePublish,
  useRealtime,
  useSubscribe,
} from '@tanstack/vue-realtime'
import { afterEach, test } from 'vitest'
import { createSSRApp, defineComponent, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { serverRenderingOpensNoSocket } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'

const editor = presenceChannel<{ documentId: string }>()

const Page = defineComponent({
  setup() {
    const { status } = useRealtime()
    useSubscribe(['chat', { roomId: '1' }], () => {})
    const publish = usePublish(['chat', { roomId: '1' }])
    const { others, self } = usePresence(editor, { params: { documentId: 'd' }, initial: { name: 'SSR' } })
    return () => h('p', `${status.value}|${others.value.length}|${String(self.value)}|${typeof publish}`)
  },
})

let server: TestServer | undefined
afterEach(() => server?.stop())

test('rendering on the server opens no connection and gives a stable initial state', async () => {
  server = await startServer()
  await serverRenderingOpensNoSocket(server, (client: RealtimeClient) =>
    renderToString(createSSRApp(Page).use(RealtimePlugin, { client })),
  )
})
