/**
 * The packages as a new user gets them: `npm pack`ed, installed into a fresh app with the README's install
 * commands (third-party packages from the npm registry, npm's cache reused), then:
 * - one copy of `@tanstack/db` (`npm ls`);
 * - the README's server, client, React, live-collection and schema (zod) snippets type-check with
 *   `skipLibCheck: false` under `moduleResolution` `bundler` and `nodenext` (browser code without `@types/node`);
 * - the seed's Todos flow in Chromium: the README's live-collection server in Node, a React page bundled from
 *   the app, two pages, an insert on one appears on the other.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type BuildOptions, build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, expect, test } from 'vitest'
import { launchChromium } from '../../examples/support/browser.js'
import { packPackages, root } from '../../scripts/pack.js'

const run = promisify(execFile)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const tsc = join(root, 'node_modules/typescript/bin/tsc')
const read = (file: string) => readFileSync(join(root, file), 'utf8')

/** The code blocks of one language in a markdown file. */
const blocks = (markdown: string, lang: string) =>
  [...markdown.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) => match[1] ?? '')

/** The one block of `lang` that `pick` selects. */
function snippet(markdown: string, lang: string, pick: (code: string) => boolean): string {
  const found = blocks(markdown, lang).filter(pick)
  expect(found, `one ${lang} block`).toHaveLength(1)
  return found[0] ?? ''
}

/**
 * A module made of the user's own parts (what the snippet leaves to the reader), the snippet as the docs show
 * it, and exports. Relative imports get `.js`, as `nodenext` wants (`bundler` takes both).
 */
const asModule = (userParts: string, code: string, exports = '') =>
  `${userParts}\n// ---- from the docs ----\n${code.replaceAll(/from '(\.\/[^']+)'/g, "from '$1.js'")}\n${exports}\n`

/** The environment for npm in the app: none of the repository's own npm run settings (its prefix, scripts). */
const npmEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      !/^npm_/i.test(name) ||
      /^npm_config_(cache|registry|cafile|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl)$/i.test(name),
  ),
)

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'realtime-packaging-')))
const app = join(dir, 'app')
let server: ChildProcess | undefined
let browser: Browser | undefined

/** The app's programs: Node code with @types/node, browser code without (reading the browser entries' types). */
const programs = {
  node: [
    'server.ts',
    'collections-server.ts',
    'serve.ts',
    'node-client.ts',
    'usage.ts',
    'typed.ts',
    'channels.ts',
    'schemas-server.ts',
  ],
  web: ['client.ts', 'hooks.tsx', 'live.tsx', 'workers-client.ts', 'main.tsx'],
}

/** Type-checks one of the app's programs with `skipLibCheck: false` under `bundler` and `nodenext`. */
async function typeCheck(program: keyof typeof programs): Promise<string[]> {
  const checks = (['bundler', 'nodenext'] as const).map((resolution) => {
    const config = `tsconfig.${program}.${resolution}.json`
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'ES2022',
      module: resolution === 'bundler' ? 'preserve' : 'nodenext',
      moduleResolution: resolution,
      jsx: 'react-jsx',
      ...(program === 'node'
        ? { lib: ['ES2022'], types: ['node'] }
        : { lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], customConditions: ['browser'] }),
    }
    const files = programs[program].map((file) => `src/${file}`)
    writeFileSync(join(app, config), JSON.stringify({ compilerOptions, files }))
    return run(process.execPath, [tsc, '-p', config], { cwd: app }).then(
      () => `${config}: ok`,
      (error: { stdout?: string }) => `${config}:\n${error.stdout}`,
    )
  })
  return Promise.all(checks)
}

afterAll(async () => {
  await browser?.close()
  server?.kill()
  rmSync(dir, { recursive: true, force: true })
})

test('the packed packages install as the README says, type-check and run the Todos flow in Chromium', async () => {
  const readme = read('README.md')
  const tarballs = await packPackages(dir)
  expect([...tarballs.keys()].sort()).toEqual([
    '@tanstack/react-realtime',
    '@tanstack/realtime',
    '@tanstack/realtime-preset-node',
    '@tanstack/realtime-preset-workerd',
    '@tanstack/realtime-redis',
    '@tanstack/solid-realtime',
    '@tanstack/svelte-realtime',
    '@tanstack/vue-realtime',
  ])
  mkdirSync(join(app, 'src'), { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))

  // The docs' snippets as modules of the app.
  const src = (file: string, text: string) => writeFileSync(join(app, 'src', file), text)
  const liveSection = readme.slice(readme.indexOf('\n## Live collections'), readme.indexOf('\n## Cloudflare Workers'))
  const workersSection = readme.slice(readme.indexOf('\n## Cloudflare Workers'))
  src(
    'server.ts',
    asModule(
      `import { createServer, type IncomingMessage } from 'node:http'
const httpServer = createServer()
const getUserIdFromRequest = (req: IncomingMessage) => req.headers['x-user-id']
const todo = { id: '1', title: 'Write docs' }`,
      snippet(readme, 'ts', (code) => code.startsWith('// server/realtime.ts')),
    ),
  )
  src(
    'collections-server.ts',
    asModule(
      // The user's parts of the repository's own test of this snippet.
      read('packages/realtime-preset-node/tests/fixtures/readme-collections.ts').split('// ---- README')[0] ?? '',
      snippet(liveSection, 'ts', (code) => code.includes('collections: {')),
      'export { server }',
    ),
  )
  src(
    'node-client.ts',
    asModule(
      '',
      snippet(readme, 'ts', (code) => code.includes('nodeTransport({')),
    ),
  )
  const clientParts = "import { client } from './node-client.js'"
  src(
    'usage.ts',
    asModule(
      clientParts,
      snippet(readme, 'ts', (code) => code.includes('// Subscribe:')),
    ),
  )
  src(
    'typed.ts',
    asModule(
      clientParts,
      snippet(readme, 'ts', (code) => code.includes('presenceChannel<')),
    ),
  )
  // The README's schemas (with zod, which the app installs as its own choice), and its server channel.
  src(
    'channels.ts',
    asModule(
      '',
      snippet(readme, 'ts', (code) => code.startsWith('// channels.ts')),
    ),
  )
  src(
    'schemas-server.ts',
    asModule(
      `import type { IncomingMessage } from 'node:http'
const getUserIdFromRequest = (req: IncomingMessage) => req.headers['x-user-id']`,
      snippet(readme, 'ts', (code) => code.includes('defineServerChannel(chat')),
      'export { server }',
    ),
  )
  // The browser's client module, as the React guide shows it.
  src(
    'client.ts',
    asModule(
      '',
      snippet(read('docs/react.md'), 'ts', (code) => code.startsWith('// client.ts')),
    ),
  )
  src(
    'hooks.tsx',
    asModule(
      `import { useState } from 'react'
import type { PresenceMember } from '@tanstack/realtime'
const MyApp = () => null
const Cursor = (_props: { user: PresenceMember }) => null`,
      blocks(readme, 'tsx')
        .filter((code) => /^\/\/ \d\. /.test(code))
        .join('\n'),
    ),
  )
  src(
    'live.tsx',
    asModule(
      `import type { Collection } from '@tanstack/react-db'
export interface Todo { id: string; title: string; done: boolean }`,
      blocks(liveSection, 'tsx').join('\n'),
      'export { OpenTodos, Todos, todosChannel }',
    ),
  )
  src(
    'workers-client.ts',
    asModule(
      'const myAuthStore = { token: "ada" }',
      snippet(workersSection, 'ts', (code) => code.includes('workerdTransport({')),
    ),
  )
  for (const file of ['main.tsx', 'serve.ts'])
    copyFileSync(join(import.meta.dirname, 'app', file), join(app, 'src', file))

  // A fresh app with React (the versions this repository tests), then the README's install commands verbatim,
  // with the tarballs in place of our package names.
  const npmInApp = (args: string[]) =>
    run(npm, args, { cwd: app, env: npmEnv, maxBuffer: 16 * 1024 * 1024, shell: process.platform === 'win32' })
  const install = (args: string[]) =>
    npmInApp([...args.map((arg) => tarballs.get(arg) ?? arg), '--prefer-offline', '--no-audit', '--no-fund'])
  const dbCopies = async () =>
    (await npmInApp(['ls', '@tanstack/db', '--all', '--parseable'])).stdout.split('\n').filter(Boolean)
  const ours = JSON.parse(read('package.json')).devDependencies as Record<string, string>
  await install([
    'install',
    ...['react', 'react-dom', '@types/react', '@types/react-dom', '@types/node', 'zod'].map(
      (name) => `${name}@${ours[name]}`,
    ),
  ])
  const commands = blocks(readme, 'bash')
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.startsWith('npm install '))
  const [quickStart, ...rest] = commands
  expect(commands).toEqual([
    'npm install @tanstack/realtime @tanstack/realtime-preset-node ws',
    'npm install @tanstack/realtime @tanstack/react-realtime',
    'npm install @tanstack/react-db',
    'npm install @tanstack/realtime @tanstack/realtime-preset-workerd',
  ])
  const args = (command = '') => command.split(/\s+/).slice(1)

  // The Quick start's packages, and no TanStack DB: the Node code type-checks without it.
  await install(args(quickStart))
  expect(await dbCopies()).toEqual([])
  expect(await typeCheck('node')).toEqual(['tsconfig.node.bundler.json: ok', 'tsconfig.node.nodenext.json: ok'])

  // Then the rest: one copy of TanStack DB, the one @tanstack/react-db brings, shared by our packages.
  for (const command of rest) await install(args(command))
  expect(new Set(await dbCopies())).toEqual(new Set([join(app, 'node_modules/@tanstack/db')]))
  expect(await typeCheck('web')).toEqual(['tsconfig.web.bundler.json: ok', 'tsconfig.web.nodenext.json: ok'])

  // The page, bundled from the app's node_modules, and the server, run by Node from the app.
  const bundle = (entry: string, outfile: string, options: BuildOptions) =>
    build({ entryPoints: [join(app, 'src', entry)], outfile: join(app, 'dist', outfile), bundle: true, ...options })
  await bundle('main.tsx', 'app.js', {
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  })
  await bundle('serve.ts', 'serve.mjs', { format: 'esm', platform: 'node', packages: 'external', logLevel: 'error' })
  server = spawn(process.execPath, [join(app, 'dist/serve.mjs')], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    server?.once('exit', (code) => reject(new Error(`the server exited with ${code}`)))
    server?.stdout?.once('data', (data: Buffer) => resolve(JSON.parse(String(data)).port))
  })

  browser = await launchChromium()
  const context = await browser.newContext()
  const errors: string[] = []
  const open = async (add: string) => {
    const page = await context.newPage()
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`http://127.0.0.1:${port}/?add=${encodeURIComponent(add)}`)
    return page
  }
  const poll = { timeout: 15_000, interval: 50 }
  const titles = (page: Page, list: 'todos' | 'open') => page.locator(`[data-testid="${list}"] li`).allTextContents()
  const [first, second] = [await open('Added on the first page'), await open('Added on the second page')]
  for (const page of [first, second]) {
    await expect.poll(() => titles(page, 'todos'), poll).toEqual(['Read the README'])
    await expect.poll(() => titles(page, 'open'), poll).toEqual(['Read the README'])
  }
  await first.getByRole('button', { name: 'Add' }).click()
  const both = ['Added on the first page', 'Read the README']
  await expect.poll(() => titles(second, 'open'), poll).toEqual(both)
  await expect.poll(async () => (await titles(second, 'todos')).sort(), poll).toEqual(both)
  expect(errors).toEqual([])
}, 240_000)
