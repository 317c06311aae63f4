import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const contents =
  process.argv[2] ??
  "export { createRealtimeClient } from '@tanstack/realtime'\nexport { nodeTransport } from '@tanstack/realtime-preset-node'\n"
const r = await build({
  stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'silent',
  legalComments: 'none',
  external: (process.argv[3] ?? '').split(',').filter(Boolean),
})
const out = Object.values(r.metafile.outputs)[0]
for (const [f, v] of Object.entries(out.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput))
  console.log(String(v.bytesInOutput).padStart(7), f)
console.log(
  'total min',
  r.outputFiles[0].contents.length,
  'gz',
  gzipSync(r.outputFiles[0].contents, { level: 9 }).length,
)
