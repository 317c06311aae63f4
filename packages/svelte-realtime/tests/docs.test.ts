// @vitest-environment jsdom
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testGuide } from '../../realtime-preset-node/tests/adapter-scenarios.js'

testGuide({
  framework: 'svelte',
  languages: ['ts', 'svelte'],
  // Paths, not URL objects: jsdom replaces the global URL class.
  dir: join(dirname(fileURLToPath(import.meta.url)), 'fixtures'),
  fixtures: ['Layout.svelte', 'ConnectionBadge.svelte', 'ChatRoom.svelte', 'EditorPresence.svelte', 'TodoList.svelte'],
  client: () => import('./fixtures/client.js'),
  mount: () => import('./fixtures/main.js'), // mounts the user's App.svelte, made of the guide's components
})
