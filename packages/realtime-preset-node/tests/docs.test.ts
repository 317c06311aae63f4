import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'

const root = new URL('../../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

/** Each guide's code blocks, and the test files and fixtures that run them. */
const fixtures = 'packages/realtime-preset-node/tests/docs'
const guides: Record<string, string[]> = {
  'docs/testing.md': [
    `${fixtures}/testing-example.test.ts`,
    'packages/react-realtime/tests/docs/testing-react.test.tsx',
  ],
  'docs/vite.md': [`${fixtures}/vite-proxy.ts`, `${fixtures}/vite-origins.ts`],
  'docs/frameworks.md': ['express', 'fastify', 'hono', 'start-realtime-server', 'start-publish'].map(
    (name) => `${fixtures}/${name}.ts`,
  ),
  'docs/auth.md': ['auth-cookie', 'token', 'auth-token-server', 'auth-client', 'token-webcrypto'].map(
    (name) => `${fixtures}/${name}.ts`,
  ),
  // The nginx block runs in tests/docs/deployment.test.ts, read from the guide itself.
  'docs/deployment.md': [`${fixtures}/deployment-server.ts`, `${fixtures}/deployment-origins.ts`],
  // Run by packages/realtime-redis/tests/docs/scaling.test.ts and tests/cluster.test.ts.
  'docs/scaling.md': ['scaling-server', 'scaling-clients'].map(
    (name) => `packages/realtime-redis/tests/docs/${name}.ts`,
  ),
  'packages/realtime-redis/README.md': ['packages/realtime-redis/tests/docs/scaling-server.ts'],
  // Run by tests/docs/server-hooks.test.ts, and the Workers blocks in workerd by the Workers preset's
  // tests/server-hooks-docs.test.ts.
  'docs/server-hooks.md': [
    ...['channels', 'channels-valibot', 'server', 'send'].map(
      (name) => `packages/realtime-preset-node/tests/fixtures/server-hooks/${name}.ts`,
    ),
    'packages/realtime-preset-workerd/tests/fixtures/hooks-worker.ts',
  ],
}

/** The fenced blocks of a markdown text in the given languages. */
function codeBlocks(markdown: string, languages: string[]): string[] {
  return [...markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)]
    .filter((match) => languages.includes(match[1] ?? ''))
    .map((match) => match[2] ?? '')
}

test.each(Object.entries(guides))('every code block of %s is run by a test, verbatim', (guide, files) => {
  const sources = files.map(read)
  const blocks = codeBlocks(read(guide), ['ts', 'tsx'])
  expect(blocks.length).toBeGreaterThan(0)
  for (const block of blocks) {
    expect(
      sources.some((source) => source.includes(block)),
      block,
    ).toBe(true)
  }
})
