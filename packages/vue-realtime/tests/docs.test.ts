// @vitest-environment jsdom
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testGuide } from '../../realtime-preset-node/tests/adapter-scenarios.js'

testGuide({
  framework: 'vue',
  languages: ['ts', 'vue'],
  // Paths, not URL objects: jsdom replaces the global URL class.
  dir: join(dirname(fileURLToPath(import.meta.url)), 'fixtures'),
  fixtures: ['main.ts', 'ConnectionBadge.vue', 'ChatRoom.vue', 'EditorPresence.vue', 'TodoList.vue'],
  client: () => import('./fixtures/client.js'),
  mount: () => import('./fixtures/main.js'), // mounts the user's App.vue, made of the guide's components
})
