// @ts-check
/**
 * Client bundle sizes, minified (esbuild, browser platform, ESM, ES2022) and gzipped (level 9),
 * ours beside socket.io-client, partysocket and @supabase/realtime-js. Each entry imports what an
 * app would import; tree-shaking removes the rest (an app without presence or live collections
 * ships neither). Run alone with `node bench/bundle-size.js`.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { compileModule } from 'svelte/compiler'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const reactDist = path.join(root, 'packages/react-realtime/dist/index.js')
/** @param {string} framework */
const adapterDist = (framework) => path.join(root, `packages/${framework}-realtime/dist/index.js`)

/** Budgets from the issues, in gzipped bytes: each framework adapter is held to the React one's. */
export const BUDGETS = {
  core: 5 * 1024,
  presence: 6 * 1024,
  react: 1.5 * 1024,
  vue: 1.5 * 1024,
  solid: 1.5 * 1024,
  svelte: 1.5 * 1024,
}

/**
 * Compiles the Svelte adapter's `.svelte.js` modules (runes) as an app's Svelte plugin would.
 * @type {import('esbuild').Plugin}
 */
const svelteModules = {
  name: 'svelte-modules',
  setup(build) {
    build.onLoad({ filter: /\.svelte\.js$/ }, async (args) => ({
      contents: compileModule(await readFile(args.path, 'utf8'), { filename: args.path, generate: 'client' }).js.code,
      loader: 'js',
    }))
  },
}

/**
 * The Vue, Solid and Svelte adapters' main entries alone (the framework and the core external), as the
 * React row measures React's.
 */
const FRAMEWORK_ENTRIES = [
  { id: 'vue', label: 'ours: Vue adapter alone (vue, core external)', external: ['vue'] },
  { id: 'solid', label: 'ours: Solid adapter alone (solid-js, core ext.)', external: ['solid-js', 'solid-js/*'] },
  {
    id: 'svelte',
    label: 'ours: Svelte adapter alone (svelte, core ext.)',
    external: ['svelte', 'svelte/*'],
    plugins: [svelteModules],
    conditions: ['svelte'],
  },
].map(({ id, label, external, plugins, conditions }) => ({
  id,
  label,
  contents: `export * from ${JSON.stringify(adapterDist(id))}\n`,
  external: [...external, '@tanstack/realtime', '@tanstack/realtime-preset-node'],
  requires: adapterDist(id),
  plugins,
  conditions,
}))

/**
 * @typedef {object} BundleRow
 * @property {string} id
 * @property {string} label
 * @property {number | null} minified
 * @property {number | null} gzipped
 * @property {string} [note]
 */

const transport = "export { nodeTransport } from '@tanstack/realtime-preset-node'\n"

/**
 * @type {Array<{id: string, label: string, contents: string, external?: string[], requires?: string,
 *   plugins?: import('esbuild').Plugin[], conditions?: string[]}>}
 */
const ENTRIES = [
  {
    id: 'core',
    label: 'ours: subscribe + publish + Node transport',
    contents: `export { createRealtimeClient } from '@tanstack/realtime'\n${transport}`,
  },
  {
    id: 'presence',
    label: 'ours: the same + presence',
    contents: `export { createRealtimeClient, getPresence } from '@tanstack/realtime'\n${transport}`,
  },
  {
    id: 'core-all',
    label: 'ours: all of @tanstack/realtime + transport',
    contents: `export * from '@tanstack/realtime'\n${transport}`,
  },
  {
    id: 'react',
    label: 'ours: React adapter alone (react, core external)',
    contents: `export * from ${JSON.stringify(reactDist)}\n`,
    external: ['react', 'react-dom', 'react/jsx-runtime', '@tanstack/realtime', '@tanstack/realtime-preset-node'],
    requires: reactDist,
  },
  {
    id: 'react-all',
    label: 'ours: React adapter + client + transport',
    contents: `export * from ${JSON.stringify(reactDist)}\nexport { createRealtimeClient } from '@tanstack/realtime'\n${transport}`,
    external: ['react', 'react-dom', 'react/jsx-runtime'],
    requires: reactDist,
  },
  ...FRAMEWORK_ENTRIES,
  { id: 'socket.io-client', label: 'socket.io-client 4.8 (io)', contents: "export { io } from 'socket.io-client'\n" },
  {
    id: 'partysocket',
    label: 'partysocket 1.3 (PartySocket)',
    contents: "export { PartySocket } from 'partysocket'\n",
  },
  {
    id: 'supabase',
    label: '@supabase/realtime-js (RealtimeClient)',
    contents: "export { RealtimeClient } from '@supabase/realtime-js'\n",
  },
]

/** @returns {Promise<BundleRow[]>} */
export async function measureBundles() {
  /** @type {BundleRow[]} */
  const rows = []
  for (const entry of ENTRIES) {
    if (entry.requires && !existsSync(entry.requires)) {
      rows.push({ id: entry.id, label: entry.label, minified: null, gzipped: null, note: 'not built' })
      continue
    }
    try {
      const result = await build({
        stdin: { contents: entry.contents, resolveDir: root, loader: 'js', sourcefile: `${entry.id}.js` },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        external: entry.external ?? [],
        plugins: entry.plugins ?? [],
        conditions: entry.conditions ?? [],
        logLevel: 'silent',
        legalComments: 'none',
        define: { 'process.env.NODE_ENV': '"production"' },
      })
      const code = /** @type {import('esbuild').OutputFile} */ (result.outputFiles[0]).contents
      rows.push({
        id: entry.id,
        label: entry.label,
        minified: code.length,
        gzipped: gzipSync(code, { level: 9 }).length,
      })
    } catch (error) {
      rows.push({ id: entry.id, label: entry.label, minified: null, gzipped: null, note: `build failed: ${error}` })
    }
  }
  return rows
}

/** @param {BundleRow[]} rows */
export function formatBundles(rows) {
  const kb = (/** @type {number | null} */ n) => (n === null ? '—' : `${(n / 1024).toFixed(2)} KB`)
  const lines = [
    `${'Client bundle (esbuild --minify, gzip -9)'.padEnd(48)}${'min'.padStart(11)}${'min+gz'.padStart(11)}`,
  ]
  for (const row of rows) {
    lines.push(
      `${row.label.padEnd(48)}${kb(row.minified).padStart(11)}${kb(row.gzipped).padStart(11)}${row.note ? `  ${row.note}` : ''}`,
    )
  }
  return lines.join('\n')
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(formatBundles(await measureBundles()))
}
