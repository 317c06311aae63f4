import type { RealtimeClient } from '@tanstack/realtime'
import { render } from '@testing-library/svelte'
import type { Part } from '../../realtime-preset-node/tests/adapter-scenarios.js'
import Parts from './components/Parts.svelte'

/** Mounts the scenario parts under a client set with `setRealtimeClient`. */
export function mount(client: RealtimeClient, parts: Part[]) {
  const view = render(Parts, { client, parts, room: parts.find((part) => 'room' in part)?.room ?? '' })
  return { setRoom: (room: string) => view.rerender({ room }), unmount: view.unmount }
}
