import {
  defineChannel,
  InvalidChannelKeyError,
  MAX_CHANNEL_KEY_LENGTH,
  parseChannelKey,
  presenceChannel,
  resolveChannel,
  serializeChannelKey,
} from '@tanstack/realtime'
import { describe, expect, test } from 'vitest'

describe('serializeChannelKey', () => {
  test('is deterministic: object keys are sorted at every depth', () => {
    expect(serializeChannelKey(['chat', { roomId: '1', lang: 'en' }])).toBe('["chat",{"lang":"en","roomId":"1"}]')
    expect(serializeChannelKey(['q', { b: { d: 1, c: [2, { f: 3, e: 4 }] }, a: true }])).toBe(
      serializeChannelKey(['q', { a: true, b: { c: [2, { e: 4, f: 3 }], d: 1 } }]),
    )
  })

  test('drops undefined properties and empty params', () => {
    expect(serializeChannelKey(['chat'])).toBe('["chat"]')
    expect(serializeChannelKey(['chat', {}])).toBe('["chat"]')
    expect(serializeChannelKey(['chat', { roomId: undefined }])).toBe('["chat"]')
    expect(serializeChannelKey(['chat', { a: 1, b: undefined }])).toBe('["chat",{"a":1}]')
  })

  test('rejects what is not a [name, params?] tuple of JSON values, with a clear message', () => {
    const bad: unknown[] = [
      'chat',
      [],
      [''],
      [1],
      ['chat', { a: 1 }, 'extra'],
      ['chat', 'params'],
      ['chat', [1]],
      ['chat', { when: new Date() }],
      ['chat', { n: Number.NaN }],
      ['chat', { fn: () => 1 }],
      ['chat', { a: { b: { c: { d: { e: 1 } } } } }],
    ]
    for (const key of bad)
      expect(() => serializeChannelKey(key as never), JSON.stringify(key)).toThrow(InvalidChannelKeyError)
  })

  test('enforces the length limit', () => {
    expect(() => serializeChannelKey(['c', { id: 'x'.repeat(MAX_CHANNEL_KEY_LENGTH) }])).toThrow(/too long/)
    expect(() => serializeChannelKey(['x'.repeat(200)])).toThrow(/1 to 128 characters/)
  })
})

describe('parseChannelKey', () => {
  test('round-trips canonical keys', () => {
    const text = serializeChannelKey(['doc', { id: 'a/b?c', n: 2 }])
    expect(parseChannelKey(text)).toEqual(['doc', { id: 'a/b?c', n: 2 }])
  })

  test('accepts only the canonical form, so one channel has one string', () => {
    expect(() => parseChannelKey('["doc",{"n":2,"id":"x"}]')).toThrow(/canonical/)
    expect(() => parseChannelKey('["doc", {"id":"x"}]')).toThrow(/canonical/)
    expect(() => parseChannelKey('not json')).toThrow(InvalidChannelKeyError)
    expect(() => parseChannelKey('x'.repeat(MAX_CHANNEL_KEY_LENGTH + 1))).toThrow(InvalidChannelKeyError)
  })
})

describe('definitions', () => {
  test('defineChannel makes keys with its name', () => {
    const todos = defineChannel<{ teamId: string }>('todos')
    expect(todos({ teamId: '1' })).toEqual(['todos', { teamId: '1' }])
    expect(todos.channelName).toBe('todos')
    expect(todos.kind).toBe('channel')
    const lobby = defineChannel('lobby')
    expect(lobby()).toEqual(['lobby'])
  })

  test('unnamed definitions get a default name', () => {
    expect(defineChannel<{ teamId: string }>()({ teamId: '1' })).toEqual(['channel', { teamId: '1' }])
    expect(presenceChannel<{ documentId: string }>()({ documentId: 'd' })).toEqual(['presence', { documentId: 'd' }])
  })

  test('resolveChannel accepts a definition with params or a raw key', () => {
    const editor = presenceChannel<{ documentId: string }>('editor')
    expect(resolveChannel(editor, { documentId: 'd' })).toEqual(['editor', { documentId: 'd' }])
    expect(resolveChannel(['raw', { a: 1 }])).toEqual(['raw', { a: 1 }])
  })

  test('names are validated', () => {
    expect(() => defineChannel('')).toThrow(InvalidChannelKeyError)
  })
})
