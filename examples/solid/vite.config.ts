import { defineConfig } from 'vite'
import solid from 'vite-plugin-solid'
import { build } from '../support/vite-build.js'

export default defineConfig({ root: import.meta.dirname, plugins: [solid()], logLevel: 'warn', build })
