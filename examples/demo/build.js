// @ts-check
// Bundles the React app into dist/ with esbuild (the browser build of every package).
import { cp, mkdir } from 'node:fs/promises'
import { build } from 'esbuild'

const here = new URL('.', import.meta.url)
await mkdir(new URL('dist', here), { recursive: true })
await build({
  entryPoints: [new URL('src/main.tsx', here).pathname],
  outfile: new URL('dist/app.js', here).pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  sourcemap: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
})
await cp(new URL('public', here), new URL('dist', here), { recursive: true })
console.log('Built the demo into examples/demo/dist.')
