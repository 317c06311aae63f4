import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/** Debian's (and Ubuntu's) Chromium package. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium'

/**
 * The Chromium the browser tests use: `CHROMIUM_PATH` when set, else Debian's `/usr/bin/chromium`, else
 * Playwright's own (`npx playwright install chromium` puts it in Playwright's cache, on any OS).
 *
 * @throws {Error} naming the three places when none has a browser.
 */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is set to ${fromEnv}, which does not exist.`)
    return fromEnv
  }
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM
  const playwrights = chromium.executablePath()
  if (playwrights && existsSync(playwrights)) return playwrights
  throw new Error(
    `No Chromium found: set CHROMIUM_PATH, install Debian's chromium (${SYSTEM_CHROMIUM}), or run \`npx playwright install chromium\`.`,
  )
}

/** Chromium (see {@link findChromium}), headless, with no network of its own (no downloads, no background traffic). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
}
