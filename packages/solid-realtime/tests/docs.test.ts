// @vitest-environment jsdom
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testGuide } from '../../realtime-preset-node/tests/adapter-scenarios.js'

testGuide({
  framework: 'solid',
  languages: ['ts', 'tsx'],
  // Paths, not URL objects: jsdom replaces the global URL class.
  dir: join(dirname(fileURLToPath(import.meta.url)), 'fixtures'),
  fixtures: ['index.tsx', 'ConnectionBadge.tsx', 'ChatRoom.tsx', 'EditorPresence.tsx', 'TodoList.tsx'],
  client: () => import('./fixtures/client.js'),
  mount: () => import('./fixtures/index.js'), // renders the user's App, made of the guide's components
})
