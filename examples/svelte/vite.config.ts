import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'
import { build } from '../support/vite-build.js'

export default defineConfig({
  root: import.meta.dirname,
  plugins: [svelte({ configFile: false })],
  logLevel: 'warn',
  build,
})
