import { readFileSync } from 'node:fs'
import { afterAll, expect, test } from 'vitest'
import { guideServer, printed, signIns } from '../fixtures/guide/setup.js'
import { eventually } from '../helpers.js'

afterAll(() => guideServer.close())

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8')

test('the guides show these snippets verbatim', () => {
  for (const file of ['refusals', 'status', 'rewind', 'errors', 'collections']) {
    const source = read(`../fixtures/guide/${file}.ts`)
    const [, guide, block] = source.match(/\/\/ ---- (docs\/[\w-]+\.md) ----\n([\s\S]*?)\/\/ ---- end ----/) ?? []
    expect(read(`../../../../${guide}`), file).toContain(`\`\`\`ts\n${block}\`\`\``)
  }
})

test('refusals: a client without a token shows the sign-in once refused', async () => {
  await import('../fixtures/guide/refusals.js')
  await eventually(() => expect(signIns).toEqual(['shown']))
})

test('the subscription status goes subscribing, then live', async () => {
  const { subscription } = await import('../fixtures/guide/status.js')
  await subscription.ready
  expect(printed).toContainEqual(['live', undefined])
})

test('rewind delivers the 20 most recent messages first', async () => {
  const { messages } = await import('../fixtures/guide/rewind.js')
  expect(messages).toEqual(Array.from({ length: 20 }, (_, i) => `message ${i + 11}`))
})

test('the error categories branch as shown (an allowed publish prints nothing)', async () => {
  const before = printed.length
  await import('../fixtures/guide/errors.js')
  expect(printed.length).toBe(before)
})

test('the collection protocol: a snapshot, then a write at a later position', async () => {
  const { rows, seq, position } = await import('../fixtures/guide/collections.js')
  expect(rows).toEqual([
    { id: 'a', title: 'Write docs' },
    { id: 'b', title: 'Ship' },
  ])
  expect(position.seq).toBe(seq + 1)
})
