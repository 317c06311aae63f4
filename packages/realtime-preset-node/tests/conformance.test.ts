import { conformanceSuite } from '../../realtime/tests/conformance/suite.js'
import { nodeHarness } from './harness.js'

conformanceSuite(nodeHarness)
