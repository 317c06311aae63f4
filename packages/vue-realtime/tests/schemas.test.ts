// @vitest-environment jsdom
import { defineChannel, type RealtimeClient, ValidationError } from '@tanstack/realtime'
import { RealtimePlugin, usePublish } from '@tanstack/vue-realtime'
import { cleanup, render } from '@testing-library/vue'
import { afterEach, expect, test } from 'vitest'
import { defineComponent, ref } from 'vue'
import { z } from 'zod'
import { wsClient } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { eventually, startServer, type TestServer } from '../../realtime-preset-node/tests/helpers.js'

let server: TestServer | undefined
const clients: RealtimeClient[] = []
const client = (token: string) => {
  const made = wsClient(server as TestServer, token)
  clients.push(made)
  return made
}
afterEach(async () => {
  cleanup()
  for (const made of clients.splice(0)) made.disconnect()
  await server?.stop()
  server = undefined
})

const notes = defineChannel('notes', { message: z.object({ text: z.string().min(1) }) })

test("usePublish of a definition's key held in a ref refuses invalid data with ValidationError before sending", async () => {
  server = await startServer() // no schema on the server: anything sent would be delivered
  const received: unknown[] = []
  await client('bob').subscribe(['notes'], (msg) => received.push(msg)).ready
  let publish!: ReturnType<typeof usePublish<ReturnType<typeof notes>>>
  const Publisher = defineComponent({
    setup() {
      // A ref wraps the key in a deep reactive proxy: its hidden schemas must still be found.
      publish = usePublish(ref(notes()))
      return () => null
    },
  })
  render(Publisher, { global: { plugins: [[RealtimePlugin, { client: client('alice') }]] } })
  const error = await publish({ text: '' }).then(
    () => undefined,
    (failure: unknown) => failure,
  )
  expect(error).toBeInstanceOf(ValidationError)
  expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([['text']])
  // The barrier: the first message the server got.
  expect(await publish({ text: 'barrier' })).toEqual({ seq: 1 })
  await eventually(() => expect(received).toEqual([{ text: 'barrier' }]))
})
