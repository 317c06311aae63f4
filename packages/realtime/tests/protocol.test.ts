import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  type ClientFrame,
  decodeClientFrame,
  encodeMessageFrame,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  utf8Length,
} from '../src/protocol.js'

describe('decodeClientFrame', () => {
  test('accepts every valid request', () => {
    expect(decodeClientFrame('{"t":"sub","id":1,"ch":"[\\"a\\"]"}')).toEqual({ t: 'sub', id: 1, ch: '["a"]' })
    expect(decodeClientFrame('{"t":"sub","id":1,"ch":"x","since":{"seq":3,"epoch":"e"}}')).toEqual({
      t: 'sub',
      id: 1,
      ch: 'x',
      since: { seq: 3, epoch: 'e' },
    })
    expect(decodeClientFrame('{"t":"pub","id":2,"ch":"x","data":null}')).toEqual({
      t: 'pub',
      id: 2,
      ch: 'x',
      data: null,
    })
    expect(decodeClientFrame('{"t":"pjoin","id":3,"ch":"x","state":{}}')).toMatchObject({ t: 'pjoin' })
    expect(decodeClientFrame('{"t":"pset","id":4,"ch":"x","patch":{"a":1}}')).toMatchObject({ t: 'pset' })
    expect(decodeClientFrame('{"t":"pleave","id":5,"ch":"x"}')).toMatchObject({ t: 'pleave' })
    expect(decodeClientFrame('{"t":"unsub","id":6,"ch":"x"}')).toMatchObject({ t: 'unsub' })
    expect(decodeClientFrame('{"t":"ping"}')).toEqual({ t: 'ping' })
    expect(decodeClientFrame('{"t":"sub","id":7,"ch":"x","rewind":20}')).toEqual({
      t: 'sub',
      id: 7,
      ch: 'x',
      rewind: 20,
    })
    expect(decodeClientFrame('{"t":"pub","id":8,"ch":"x","data":1,"idem":"k-1_A"}')).toEqual({
      t: 'pub',
      id: 8,
      ch: 'x',
      data: 1,
      idem: 'k-1_A',
    })
    expect(decodeClientFrame('{"t":"write","id":9,"ch":"x","ops":[{"type":"delete","key":1}],"idem":"w1"}')).toEqual({
      t: 'write',
      id: 9,
      ch: 'x',
      ops: [{ type: 'delete', key: 1 }],
      idem: 'w1',
    })
  })

  test('says what is wrong with an invalid frame, keeping the id when it can', () => {
    const cases: Array<[string, RegExp, number | undefined]> = [
      ['{', /not valid JSON/, undefined],
      ['[1]', /JSON object/, undefined],
      ['{"t":"pub","ch":"x","data":1}', /integer id/, undefined],
      ['{"t":"pub","id":0,"ch":"x","data":1}', /integer id/, undefined],
      ['{"t":"pub","id":1.5,"ch":"x","data":1}', /integer id/, undefined],
      ['{"t":"pub","id":1,"data":1}', /channel key/, 1],
      ['{"t":"pub","id":1,"ch":"x"}', /needs "data"/, 1],
      ['{"t":"pjoin","id":2,"ch":"x","state":[]}', /state must be a JSON object/, 2],
      ['{"t":"pset","id":3,"ch":"x","patch":"a"}', /patch must be a JSON object/, 3],
      ['{"t":"sub","id":4,"ch":"x","since":{"seq":"1","epoch":"e"}}', /since/, 4],
      ['{"t":"nope","id":5,"ch":"x"}', /Unknown frame type "nope"/, 5],
      ['{"t":"sub","id":6,"ch":"x","rewind":0}', /"rewind" must be an integer from 1 to 1000/, 6],
      ['{"t":"sub","id":6,"ch":"x","rewind":1001}', /"rewind" must be an integer from 1 to 1000/, 6],
      ['{"t":"sub","id":6,"ch":"x","rewind":5,"since":{"seq":1,"epoch":"e"}}', /"since" or "rewind", not both/, 6],
      ['{"t":"pub","id":7,"ch":"x","data":1,"idem":""}', /"idem" must be 1 to 64/, 7],
      ['{"t":"pub","id":7,"ch":"x","data":1,"idem":"a b"}', /"idem" must be 1 to 64/, 7],
      ['{"t":"write","id":8,"ch":"x","ops":[{"type":"delete","key":1}],"idem":7}', /"idem" must be 1 to 64/, 8],
    ]
    for (const [text, message, id] of cases) {
      const result = decodeClientFrame(text)
      expect(result, text).toMatchObject({ error: expect.stringMatching(message) })
      expect((result as { id?: number }).id, text).toBe(id)
    }
  })
})

describe('decodeClientFrame, property-based', () => {
  const id = fc.integer({ min: 1, max: 2 ** 31 - 1 })
  const ch = fc.string({ unit: 'binary', maxLength: 40 })
  const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 })
  const object = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), json, { maxKeys: 5 })
  const key = fc.oneof(fc.string({ maxLength: 10 }), fc.double({ noNaN: true, noDefaultInfinity: true }))
  const op = fc.oneof(
    fc.record({ type: fc.constant('delete' as const), key }),
    fc.record({ type: fc.constantFrom('insert' as const, 'update' as const), key, value: object }),
  )
  const frame: fc.Arbitrary<ClientFrame> = fc.oneof(
    fc.record({ t: fc.constant('sub' as const), id, ch }),
    fc.record({
      t: fc.constant('sub' as const),
      id,
      ch,
      since: fc.record({ seq: fc.nat(), epoch: fc.string({ maxLength: 64 }) }),
    }),
    fc.record({ t: fc.constantFrom('unsub' as const, 'pleave' as const, 'snap' as const), id, ch }),
    fc.record({ t: fc.constant('pub' as const), id, ch, data: json }),
    fc.record({ t: fc.constant('pjoin' as const), id, ch, state: object }),
    fc.record({ t: fc.constant('pset' as const), id, ch, patch: object }),
    fc.record({ t: fc.constant('write' as const), id, ch, ops: fc.array(op, { minLength: 1, maxLength: 100 }) }),
    fc.constant({ t: 'ping' as const }),
  )

  test('every valid frame decodes to itself', () => {
    fc.assert(
      fc.property(frame, (sent) => {
        // JSON turns -0 into 0: compare with what travels.
        expect(decodeClientFrame(JSON.stringify(sent))).toEqual(JSON.parse(JSON.stringify(sent)))
      }),
      { numRuns: 500 },
    )
  })

  test('anything decodes without throwing; a decoded frame serializes; an id is kept when readable', () => {
    const nested = fc
      .tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean())
      .map(([depth, arrays]) =>
        arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`,
      )
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      json.map((value) => JSON.stringify(value)),
      frame.map((sent) => JSON.stringify(sent)),
      fc.tuple(frame, fc.nat(), fc.string({ unit: 'binary', maxLength: 4 })).map(([sent, at, insert]) => {
        const text = JSON.stringify(sent)
        const i = at % (text.length + 1)
        return text.slice(0, i) + insert + text.slice(i + 1)
      }),
      nested.map((value) => `{"t":"pub","id":1,"ch":"x","data":${value}}`),
      nested,
    )
    fc.assert(
      fc.property(fc.oneof(text, fc.uint8Array({ maxLength: 64 })), (input) => {
        const decoded = decodeClientFrame(input)
        let parsed: unknown
        try {
          parsed = typeof input === 'string' ? JSON.parse(input) : undefined
        } catch {}
        const readableId = (parsed as { id?: unknown } | undefined)?.id
        if ('error' in decoded) {
          expect(typeof decoded.error).toBe('string')
          if (decoded.id !== undefined) expect(decoded.id).toBe(readableId)
        } else {
          expect(() => JSON.stringify(decoded)).not.toThrow()
          expect(nestedDeeperThan(decoded, MAX_JSON_DEPTH + 3)).toBe(false)
        }
        if (typeof input !== 'string') expect(decoded).toEqual({ error: expect.stringMatching(/Binary frames/) })
      }),
      { numRuns: 2000 },
    )
  })

  test(`payloads nest at most ${MAX_JSON_DEPTH} levels`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.boolean(), (depth, arrays) => {
        const value = arrays
          ? `${'['.repeat(depth)}${']'.repeat(depth)}`
          : `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`
        const decoded = decodeClientFrame(`{"t":"pjoin","id":9,"ch":"x","state":{"v":${value}}}`)
        if (depth + 1 <= MAX_JSON_DEPTH) expect(decoded).toMatchObject({ t: 'pjoin' })
        else expect(decoded).toEqual({ id: 9, error: 'Presence state is nested more than 64 levels deep.' })
      }),
    )
  })
})

test('encodeMessageFrame builds the same JSON as JSON.stringify', () => {
  const text = encodeMessageFrame(JSON.stringify('["a"]'), 7, JSON.stringify({ x: [1, 'é'] }))
  expect(JSON.parse(text)).toEqual({ t: 'msg', ch: '["a"]', seq: 7, data: { x: [1, 'é'] } })
})

test('utf8Length matches the encoder', () => {
  for (const text of ['', 'abc', 'é', '€', '😀', 'a😀é€\u{10FFFF}', '\ud800']) {
    expect(utf8Length(text), text).toBe(new TextEncoder().encode(text).length)
  }
})
