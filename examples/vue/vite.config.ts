import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { build } from '../support/vite-build.js'

export default defineConfig({ root: import.meta.dirname, plugins: [vue()], logLevel: 'warn', build })
