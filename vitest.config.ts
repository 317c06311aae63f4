import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/tests/**/*.test.{ts,tsx}', 'examples/**/*.test.{ts,tsx}'],
    typecheck: { enabled: true, include: ['packages/*/tests/**/*.test-d.ts'], tsconfig: './tsconfig.tests.json' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
})
