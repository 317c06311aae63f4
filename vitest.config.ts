import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { svelteTesting } from '@testing-library/svelte/vite'
import vue from '@vitejs/plugin-vue'
import solid from 'vite-plugin-solid'
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

/**
 * The Vue, Solid and Svelte adapters' tests, each compiled by its framework's Vite plugin. Their DOM
 * tests need Solid's and Svelte's browser builds, while the Node server they start in the same process
 * needs the Node builds of `ws` and the preset: so those browser builds are picked by name rather than
 * by the `browser` condition for everything. Server-rendering tests compile for the server, in projects
 * of their own.
 */
const root = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const solidBrowser = ['', '/web', '/store'].map((entry) => ({
  find: new RegExp(`^solid-js${entry}$`),
  replacement: root(`node_modules/solid-js${entry}/dist/${entry ? entry.slice(1) : 'solid'}.js`),
}))
const svelteBrowser = Object.entries({
  '': 'index-client',
  '/legacy': 'legacy/legacy-client',
  '/reactivity': 'reactivity/index-client',
  '/store': 'store/index-client',
}).map(([entry, file]) => ({
  find: new RegExp(`^svelte${entry}$`),
  replacement: root(`node_modules/svelte/src/${file}.js`),
}))
const solidPlugin = () => solid({ ssr: true, hot: false })
const frameworks = [
  { name: 'vue', plugins: [vue()] },
  { name: 'solid', plugins: [solidPlugin()], alias: solidBrowser, inline: [/solid/], exclude: ['ssr.test.tsx'] },
  { name: 'solid-ssr', dir: 'solid', plugins: [solidPlugin()], include: ['ssr.test.tsx'] },
  {
    name: 'svelte',
    plugins: [svelte({ configFile: false }), svelteTesting({ resolveBrowser: false })],
    alias: svelteBrowser,
    inline: [/svelte/],
    exclude: ['ssr.test.ts'],
  },
  { name: 'svelte-ssr', dir: 'svelte', plugins: [svelte({ configFile: false })], include: ['ssr.test.ts'] },
]

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default', summary],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['packages/*/tests/**/*.test.{ts,tsx}', 'examples/**/*.test.{ts,tsx}', 'tests/**/*.test.ts'],
          exclude: ['packages/{vue,solid,svelte}-realtime/**', '**/node_modules/**'],
          typecheck: {
            enabled: true,
            include: ['packages/*/tests/**/*.test-d.ts'],
            tsconfig: './tsconfig.tests.json',
          },
        },
      },
      ...frameworks.map(
        ({ name, dir = name, plugins, alias = [], inline = [], include = ['**/*.test.{ts,tsx}'], exclude = [] }) => ({
          extends: true as const,
          plugins,
          resolve: { alias },
          test: { name, dir: `packages/${dir}-realtime/tests`, include, exclude, server: { deps: { inline } } },
        }),
      ),
    ],
  },
})
