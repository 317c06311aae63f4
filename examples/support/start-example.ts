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
  // Started once it prints its address; an exit before that fails at once, with what it printed.
  const actual = await new Promise<number>((resolve, reject) => {
    const failed = () => reject(new Error(`the demo did not start: ${output}`))
    child.once('exit', failed)
    child.once('error', reject)
    child.stdout?.on('data', (chunk) => {
      output += chunk
      const port = /open http:\/\/localhost:(\d+)/.exec(output)?.[1]
      if (port === undefined) return
      child.off('exit', failed)
      resolve(Number(port))
    })
  })
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
