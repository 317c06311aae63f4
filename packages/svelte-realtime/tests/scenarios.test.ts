// @vitest-environment jsdom
import { MissingProviderError } from '@tanstack/svelte-realtime'
import { cleanup, render } from '@testing-library/svelte'
import { testAdapter } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import Orphan from './components/Orphan.svelte'
import { mount } from './mount.js'

testAdapter({ mount, cleanup, mountOrphan: () => render(Orphan), MissingProviderError })
