import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

export interface Demo {
  origin: string
  port: number
  stop(): Promise<void>
}

/**
 * Starts `node server.js` of an example (`basic`, `demo`) as `npm start` does, on `port` (0: any
 * free port), with extra environment variables.
 */
export async function startExample(example: string, port = 0, env: Record<string, string> = {}): Promise<Demo> {
  const child: ChildProcess = spawn(process.execPath, ['server.js'], {
    cwd: new URL(`../${example}/`, import.meta.url),
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  const deadline = Date.now() + 10_000
  const started = () => /open http:\/\/localhost:(\d+)/.exec(output)?.[1]
  while (!started()) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const actual = Number(started())
  return {
    origin: `http://localhost:${actual}`,
    port: actual,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
