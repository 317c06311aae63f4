// @vitest-environment jsdom
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RealtimeProvider } from '@tanstack/react-realtime'
import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { startServer } from '../../../realtime-preset-node/tests/helpers.js'
import { Room } from '../fixtures/guide-room.js'
import { eventually, makeClient } from '../support.js'

afterEach(cleanup)

test('the React guide shows the Room example verbatim', () => {
  const here = dirname(fileURLToPath(import.meta.url))
  const source = readFileSync(join(here, '../fixtures/guide-room.tsx'), 'utf8')
  const block = source.match(/\/\/ ---- docs\/react\.md ----\n([\s\S]*?)\/\/ ---- end ----/)?.[1]
  const guide = readFileSync(join(here, '../../../../docs/react.md'), 'utf8')
  expect(guide).toContain(`\`\`\`tsx\n${block}\`\`\``)
})

test('the Room shows live messages, and the error when the room is denied', async () => {
  const server = await startServer({
    authorize: (_user, [, params]) => ((params as any)?.roomId === 'secret' ? null : { subscribe: true }),
  })
  const client = makeClient(server, 'ada')
  try {
    render(
      <RealtimeProvider client={client}>
        <Room roomId="1" />
        <Room roomId="secret" />
      </RealtimeProvider>,
    )
    await eventually(() => expect(screen.getByText(/Cannot read this room/).textContent).toContain('Not allowed'))
    await eventually(() => expect(document.querySelector('section')?.getAttribute('aria-busy')).toBe('false'))
    await server.realtime.publish(['chat', { roomId: '1' }], 'hello')
    await eventually(() => expect(screen.getByText('hello')).toBeTruthy())
  } finally {
    client.disconnect()
    await server.stop()
  }
})
