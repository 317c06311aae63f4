import { defineChannel, InvalidChannelKeyError, presenceChannel } from '@tanstack/realtime'
import { expect, test } from 'vitest'

// Its own file: the first unnamed definitions of this module graph are made here.
test('one unnamed definition per kind works; a second one made elsewhere throws instead of sharing it', () => {
  const todos = () => defineChannel<{ teamId: string }>()
  expect(todos()({ teamId: '1' })).toEqual(['channel', { teamId: '1' }])
  // The same place running again (a module re-evaluated by hot reloading) is the same definition.
  expect(todos().channelName).toBe('channel')
  expect(() => defineChannel<{ roomId: string }>()).toThrow(InvalidChannelKeyError)
  expect(() => defineChannel<{ roomId: string }>()).toThrow(
    'A second defineChannel() without a name would share the channel "channel" with the first one',
  )
  expect(defineChannel<{ roomId: string }>('rooms')({ roomId: '2' })).toEqual(['rooms', { roomId: '2' }])

  const editor = () => presenceChannel<{ documentId: string }>()
  expect(editor()({ documentId: 'd' })).toEqual(['presence', { documentId: 'd' }])
  expect(editor().kind).toBe('presence')
  expect(() => presenceChannel()).toThrow(/A second presenceChannel\(\) without a name/)
})
