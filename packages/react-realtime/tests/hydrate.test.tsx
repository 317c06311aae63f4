// @vitest-environment jsdom
import { RealtimeProvider, useRealtime, useSubscribe } from '@tanstack/react-realtime'
import { act } from 'react'
import { hydrateRoot } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { afterEach, expect, test } from 'vitest'
import type { TestServer } from '../../realtime-preset-node/tests/helpers.js'
import { eventually, makeClient, startReactServer } from './support.js'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

let server: TestServer | undefined
afterEach(async () => {
  await server?.stop()
})

function Page() {
  const { status } = useRealtime()
  useSubscribe(['news'], () => {})
  return <p data-testid="status">{status}</p>
}

test('server-rendered HTML hydrates without a mismatch, then connects and subscribes', async () => {
  server = await startReactServer()
  const client = makeClient(server, 'reader')
  const tree = (
    <RealtimeProvider client={client}>
      <Page />
    </RealtimeProvider>
  )
  const container = document.createElement('div')
  container.innerHTML = renderToString(tree)
  document.body.append(container)
  expect(server.realtime.server.stats().connections).toBe(0)

  const errors: unknown[] = []
  const root = await act(async () =>
    hydrateRoot(container, tree, { onRecoverableError: (error) => errors.push(error) }),
  )
  await eventually(() => expect(container.textContent).toBe('connected'))
  await eventually(() => expect(server?.realtime.engine.subscriberCount(['news'])).toBe(1))
  expect(errors).toEqual([]) // no hydration mismatch
  root.unmount()
  client.disconnect()
})
