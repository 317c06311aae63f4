import { browserRefusalSuite } from '../../realtime/tests/conformance/browser-refusals.js'
import { nodeHarness } from './harness.js'

browserRefusalSuite(nodeHarness, { module: '@tanstack/realtime-preset-node', name: 'nodeTransport' })
