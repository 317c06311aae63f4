import { defineConfig } from 'vitest/config'
import type { Reporter } from 'vitest/node'

/** Ends the run with a plain `N passed, N failed` line (with `, N skipped`) that any CI can read. */
const summary: Reporter = {
  onTestRunEnd(testModules) {
    const counts = { passed: 0, failed: 0, skipped: 0 }
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed' || state === 'failed') counts[state]++
        else counts.skipped++
      }
    }
    console.log(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`)
  },
}

export default defineConfig({
  test: {
    include: ['packages/*/tests/**/*.test.{ts,tsx}', 'examples/**/*.test.{ts,tsx}', 'tests/**/*.test.ts'],
    typecheck: { enabled: true, include: ['packages/*/tests/**/*.test-d.ts'], tsconfig: './tsconfig.tests.json' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default', summary],
  },
})
