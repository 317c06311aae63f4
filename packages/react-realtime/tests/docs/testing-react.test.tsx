// @vitest-environment jsdom
// news.test.tsx
import { defineChannel, RealtimeProvider, useSubscribe } from '@tanstack/react-realtime'
import { startTestServer } from '@tanstack/realtime-preset-node/testing'
import { cleanup, render, screen } from '@testing-library/react'
import { useState } from 'react'
import { afterAll, afterEach, expect, test, vi } from 'vitest'

const news = defineChannel<void, { headline: string }>('news')

function LatestNews() {
  const [headline, setHeadline] = useState('No news yet')
  useSubscribe(news(), (message) => setHeadline(message.headline))
  return <p>{headline}</p>
}

const server = await startTestServer()
afterEach(cleanup)
afterAll(() => server.close())

test('shows each headline as it is published', async () => {
  render(
    <RealtimeProvider client={server.client()}>
      <LatestNews />
    </RealtimeProvider>,
  )
  // Wait until the component's subscription is live on the server, then publish.
  await vi.waitFor(() => expect(server.engine.subscriberCount(news())).toBe(1))
  await server.publish(news(), { headline: 'Realtime ships' })

  expect(await screen.findByText('Realtime ships')).toBeTruthy()
})
