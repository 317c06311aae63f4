import type { RealtimeClient } from '@tanstack/realtime'
import { render } from 'svelte/server'
import { afterEach, test } from 'vitest'
import { serverRenderingOpensNoSocket } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'
import Page from './components/Page.svelte'

let server: TestServer | undefined
afterEach(() => server?.stop())

test('rendering on the server opens no connection and gives a stable initial state', async () => {
  server = await startServer()
  await serverRenderingOpensNoSocket(server, async (client: RealtimeClient) => render(Page, { props: { client } }).body)
})
