import { describe, expect, test } from 'vitest'
import { decodeClientFrame, encodeMessageFrame, utf8Length } from '../src/protocol.js'

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
    ]
    for (const [text, message, id] of cases) {
      const result = decodeClientFrame(text)
      expect(result, text).toMatchObject({ error: expect.stringMatching(message) })
      expect((result as { id?: number }).id, text).toBe(id)
    }
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
