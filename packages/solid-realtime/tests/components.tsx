// The Solid components of the shared adapter scenarios (markup described in
// ../../realtime-preset-node/tests/adapter-scenarios.ts).

import { render } from '@solidjs/testing-library'
import type { RealtimeClient } from '@tanstack/realtime'
import { liveCollectionOptions } from '@tanstack/realtime'
import { RealtimeProvider, usePresence, usePublish, useRealtime, useSubscribe } from '@tanstack/solid-realtime'
import { useLiveCollection } from '@tanstack/solid-realtime/collections'
import { createSignal, For, Match, Show, Switch } from 'solid-js'
import {
  cursors as cursorsChannel,
  type Part,
  type Todo,
  todoFrom,
  todosChannel,
} from '../../realtime-preset-node/tests/adapter-scenarios.js'

export function Status(props: { label: string }) {
  const realtime = useRealtime()
  return <span data-testid={`status ${props.label}`}>{realtime.status}</span>
}

export function Chat(props: { roomId: string; label: string }) {
  const [messages, setMessages] = createSignal<string[]>([])
  useSubscribe(
    () => ['chat', { roomId: props.roomId }],
    (message) => setMessages((previous) => [...previous, String(message)]),
  )
  const publish = usePublish(() => ['chat', { roomId: props.roomId }])
  return (
    <div>
      <button type="button" onClick={() => publish(`hello from ${props.label}`)}>
        send {props.label}
      </button>
      <ul aria-label={`messages ${props.label}`}>
        <For each={messages()}>{(message) => <li>{message}</li>}</For>
      </ul>
    </div>
  )
}

export function Cursors(props: { name: string }) {
  const presence = usePresence(cursorsChannel, {
    params: { documentId: 'doc' },
    initial: { name: props.name, cursor: null },
  })
  return (
    <div data-testid={`cursors ${props.name}`} data-status={presence.status}>
      <button type="button" onClick={() => presence.updatePresence({ cursor: { x: 5, y: 7 } })}>
        move {props.name}
      </button>
      <For each={presence.others}>
        {(member) => (
          <span>
            {member.state.name}@{member.state.cursor ? `${member.state.cursor.x},${member.state.cursor.y}` : 'none'}
          </span>
        )}
      </For>
    </div>
  )
}

export function Todos(props: { label: string; client: RealtimeClient }) {
  const todos = useLiveCollection(
    liveCollectionOptions({
      client: props.client,
      channel: todosChannel,
      params: { teamId: 't' },
      getId: (todo: Todo) => todo.id,
    }),
  )
  const [error, setError] = createSignal('')
  let added = 0
  const add = (title?: string) => {
    const todo = todoFrom(props.label, ++added)
    todos.collection
      .insert({ ...todo, title: title ?? todo.title })
      .isPersisted.promise.catch((failure: Error) => setError(failure.message))
  }
  return (
    <div>
      <button type="button" onClick={() => add()}>
        add {props.label}
      </button>
      <button type="button" onClick={() => add('')}>
        add empty {props.label}
      </button>
      <Show when={error()}>
        <p role="alert">{error()}</p>
      </Show>
      <ul aria-label={`todos ${props.label}`}>
        <For each={todos.data}>{(todo) => <li>{todo.title}</li>}</For>
      </ul>
    </div>
  )
}

/** Mounts the scenario parts under `<RealtimeProvider client={client}>`. */
export function mount(client: RealtimeClient, parts: Part[]) {
  const [room, setRoom] = createSignal(parts.find((part) => 'room' in part)?.room ?? '')
  const view = render(() => (
    <RealtimeProvider client={client}>
      <For each={parts}>
        {(part) => (
          <Switch>
            <Match when={'status' in part && part}>{(p) => <Status label={p().status} />}</Match>
            <Match when={'chat' in part && part}>{(p) => <Chat roomId={room()} label={p().chat} />}</Match>
            <Match when={'cursors' in part && part}>{(p) => <Cursors name={p().cursors} />}</Match>
            <Match when={'todos' in part && part}>{(p) => <Todos label={p().todos} client={p().client} />}</Match>
          </Switch>
        )}
      </For>
    </RealtimeProvider>
  ))
  return { setRoom, unmount: view.unmount }
}
