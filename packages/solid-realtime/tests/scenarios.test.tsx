// @vitest-environment jsdom
import { cleanup, render } from '@solidjs/testing-library'
import { MissingProviderError, useRealtime } from '@tanstack/solid-realtime'
import { testAdapter } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { mount } from './components.js'

function Orphan() {
  useRealtime()
  return null
}

testAdapter({ mount, cleanup, mountOrphan: () => render(() => <Orphan />), MissingProviderError })
