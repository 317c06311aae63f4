// @ts-check
/**
 * Lints the packages as npm would publish them: packs each once, then runs publint (strict: warnings fail)
 * and Are the Types Wrong (`--profile esm-only`: the packages are ESM only) on every tarball. Offline.
 * Run with `npm run lint:packages` (after `npm run build`); `npm test` runs it first.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { packPackages } from './pack.js'

const require = createRequire(import.meta.url)
const attw = path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist/index.js')

/**
 * @param {string} name
 * @param {string} tarball
 * @returns {Promise<string[]>} the problems found
 */
async function lint(name, tarball) {
  const problems = []
  const data = readFileSync(tarball)
  const tarballBuffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  const { messages, pkg } = await publint({ pack: { tarball: tarballBuffer }, strict: true })
  for (const message of messages) {
    if (message.type !== 'suggestion') problems.push(`publint: ${formatMessage(message, pkg) ?? message.code}`)
  }
  try {
    // --no-definitely-typed: never look @types packages up on the registry.
    await promisify(execFile)(process.execPath, [
      attw,
      tarball,
      '--profile',
      'esm-only',
      '--no-definitely-typed',
      '--no-color',
      '--no-emoji',
    ])
  } catch (error) {
    const { stdout = '', stderr = '' } = /** @type {{ stdout?: string, stderr?: string }} */ (error)
    problems.push(`attw:\n${stdout}${stderr}`)
  }
  return problems.map((problem) => `${name}: ${problem}`)
}

const dir = mkdtempSync(path.join(tmpdir(), 'realtime-lint-packages-'))
try {
  const tarballs = await packPackages(dir)
  const problems = (await Promise.all([...tarballs].map(([name, tarball]) => lint(name, tarball)))).flat()
  if (problems.length > 0) {
    console.error(problems.join('\n'))
    process.exitCode = 1
  } else {
    console.log(`lint:packages: ${[...tarballs.keys()].join(', ')} pass publint --strict and attw --profile esm-only`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
