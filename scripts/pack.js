// @ts-check
/**
 * Packs the publishable packages (the workspaces under packages/) with `npm pack`, as npm would publish them.
 * Shared by `npm run lint:packages` and tests/packaging.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The package directories (relative to the root), in build order. */
export const packageDirs = /** @type {string[]} */ (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces
).filter((dir) => dir.startsWith('packages/'))

/**
 * Packs every package into `destination` (one `npm pack` call) and returns the tarballs by package name.
 * The packages must be built (`npm run build`).
 *
 * @param {string} destination
 * @returns {Promise<Map<string, string>>} package name -> absolute tarball path
 */
export async function packPackages(destination) {
  const workspaces = packageDirs.flatMap((dir) => ['--workspace', dir])
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const { stdout } = await promisify(execFile)(
    npm,
    ['pack', '--json', '--ignore-scripts', '--pack-destination', destination, ...workspaces],
    { cwd: root, maxBuffer: 16 * 1024 * 1024, shell: process.platform === 'win32' },
  )
  /** @type {Array<{ name: string, filename: string, files: Array<{ path: string }> }>} */
  const packed = JSON.parse(stdout)
  return new Map(packed.map((pkg) => [pkg.name, path.join(destination, pkg.filename)]))
}
