// @vitest-environment jsdom
/** @jsxRuntime automatic */
/** @jsxImportSource react */

import { cleanup } from '@testing-library/react'
import { afterEach, test } from 'vitest'
import { twoClientsSeeEachOther } from '../../react-realtime/tests/components.js'
import { type HarnessServer, workerdHarness } from './support/workerd.js'

let server: HarnessServer | undefined
afterEach(async () => {
  cleanup()
  workerdHarness.closeClients()
  await server?.stop()
  server = undefined
})

test('the React hooks work unchanged over workerdTransport, in StrictMode', async () => {
  server = await workerdHarness.start()
  const target = server
  await twoClientsSeeEachOther(target.client('alice'), target.client('bob'), (channel) =>
    target.subscriberCount(channel),
  )
})
