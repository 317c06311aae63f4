import { conformanceSuite } from '../../realtime/tests/conformance/suite.js'
import { workerdHarness } from './support/workerd.js'

// The same client-facing suite as the Node preset, against RealtimeChannel Durable Objects in real
// workerd (Miniflare) with workerdTransport clients: one socket per channel.
conformanceSuite(workerdHarness)
