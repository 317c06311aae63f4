// The Vue components of the shared adapter scenarios (markup described in
// ../../realtime-preset-node/tests/adapter-scenarios.ts).

import type { RealtimeClient } from '@tanstack/realtime'
import { liveCollectionOptions } from '@tanstack/realtime'
import { RealtimePlugin, usePresence, usePublish, useRealtime, useSubscribe } from '@tanstack/vue-realtime'
import { useLiveCollection } from '@tanstack/vue-realtime/collections'
import { render } from '@testing-library/vue'
import { defineComponent, h, type PropType, ref } from 'vue'
import {
  cursors as cursorsChannel,
  type Part,
  todoFrom,
  todosChannel,
} from '../../realtime-preset-node/tests/adapter-scenarios.js'

export const Status = defineComponent({
  props: { label: { type: String, required: true } },
  setup(props) {
    const { status } = useRealtime()
    return () => h('span', { 'data-testid': `status ${props.label}` }, status.value)
  },
})

export const Chat = defineComponent({
  props: { roomId: { type: String, required: true }, label: { type: String, required: true } },
  setup(props) {
    const messages = ref<string[]>([])
    useSubscribe(
      () => ['chat', { roomId: props.roomId }],
      (message) => messages.value.push(String(message)),
    )
    const publish = usePublish(() => ['chat', { roomId: props.roomId }])
    return () =>
      h('div', [
        h('button', { onClick: () => publish(`hello from ${props.label}`) }, `send ${props.label}`),
        h(
          'ul',
          { 'aria-label': `messages ${props.label}` },
          messages.value.map((message) => h('li', message)),
        ),
      ])
  },
})

export const Cursors = defineComponent({
  props: { name: { type: String, required: true } },
  setup(props) {
    const { others, status, updatePresence } = usePresence(cursorsChannel, {
      params: { documentId: 'doc' },
      initial: { name: props.name, cursor: null },
    })
    return () =>
      h('div', { 'data-testid': `cursors ${props.name}`, 'data-status': status.value }, [
        h('button', { onClick: () => updatePresence({ cursor: { x: 5, y: 7 } }) }, `move ${props.name}`),
        ...others.value.map((member) =>
          h(
            'span',
            { key: member.connectionId },
            `${member.state.name}@${member.state.cursor ? `${member.state.cursor.x},${member.state.cursor.y}` : 'none'}`,
          ),
        ),
      ])
  },
})

export const Todos = defineComponent({
  props: {
    label: { type: String, required: true },
    client: { type: Object as PropType<RealtimeClient>, required: true },
  },
  setup(props) {
    const { data: todos, collection } = useLiveCollection(
      liveCollectionOptions({
        client: props.client,
        channel: todosChannel,
        params: { teamId: 't' },
        getId: (todo: { id: string; title: string }) => todo.id,
      }),
    )
    const error = ref('')
    let added = 0
    const add = (title?: string) => {
      const todo = todoFrom(props.label, ++added)
      collection.value.insert({ ...todo, title: title ?? todo.title }).isPersisted.promise.catch((failure: Error) => {
        error.value = failure.message
      })
    }
    return () =>
      h('div', [
        h('button', { onClick: () => add() }, `add ${props.label}`),
        h('button', { onClick: () => add('') }, `add empty ${props.label}`),
        error.value ? h('p', { role: 'alert' }, error.value) : null,
        h(
          'ul',
          { 'aria-label': `todos ${props.label}` },
          todos.value.map((todo) => h('li', { key: todo.id }, todo.title)),
        ),
      ])
  },
})

/** Mounts the scenario parts under `app.use(RealtimePlugin, { client })`. */
export function mount(client: RealtimeClient, parts: Part[]) {
  const room = ref(parts.find((part) => 'room' in part)?.room ?? '')
  const Parts = defineComponent({
    setup: () => () =>
      parts.map((part) =>
        'status' in part
          ? h(Status, { label: part.status })
          : 'chat' in part
            ? h(Chat, { roomId: room.value, label: part.chat })
            : 'cursors' in part
              ? h(Cursors, { name: part.cursors })
              : h(Todos, { label: part.todos, client: part.client }),
      ),
  })
  const view = render(Parts, { global: { plugins: [[RealtimePlugin, { client }]] } })
  return {
    setRoom: (next: string) => {
      room.value = next
    },
    unmount: () => view.unmount(),
  }
}
