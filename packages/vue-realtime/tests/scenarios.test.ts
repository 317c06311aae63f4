// @vitest-environment jsdom
import { MissingProviderError, useRealtime } from '@tanstack/vue-realtime'
import { cleanup, render } from '@testing-library/vue'
import { defineComponent } from 'vue'
import { testAdapter } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import { mount } from './components.js'

const Orphan = defineComponent({
  setup() {
    useRealtime()
    return () => null
  },
})

testAdapter({ mount, cleanup, mountOrphan: () => render(Orphan), MissingProviderError })
