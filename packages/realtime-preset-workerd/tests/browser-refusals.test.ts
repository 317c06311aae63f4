import { browserRefusalSuite } from '../../realtime/tests/conformance/browser-refusals.js'
import { workerdHarness } from './support/workerd.js'

browserRefusalSuite(workerdHarness, { module: '@tanstack/realtime-preset-workerd', name: 'workerdTransport' })
