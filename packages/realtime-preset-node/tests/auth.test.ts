import { afterEach, expect, test } from 'vitest'
import { closeClients, startServer, type TestServer, upgradeStatus } from './helpers.js'

// Authorization, 401/403/500 answers and the Origin check run in the conformance suite
// (../../realtime/tests/conformance/suite.ts); this file keeps what only the Node server has.

let server: TestServer | undefined
afterEach(async () => {
  closeClients()
  await server?.stop()
  server = undefined
})

test('a wrong path is not upgraded', async () => {
  server = await startServer()
  expect(await upgradeStatus(`${server.url}/elsewhere?token=alice`)).toBe(404)
  expect(await upgradeStatus(`${server.url}/_realtime/x?token=alice`)).toBe(404)
})
