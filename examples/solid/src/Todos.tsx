import { liveCollectionOptions } from '@tanstack/realtime'
import { useLiveCollection } from '@tanstack/solid-realtime/collections'
import { createSignal, For, Show } from 'solid-js'
import { client, type Todo, todosChannel } from '../../demo/src/client'
import { userName } from '../../demo/src/identity'

export function Todos() {
  const todos = useLiveCollection(
    liveCollectionOptions({
      client,
      channel: todosChannel,
      params: { listId: 'team' },
      getId: (todo: Todo) => todo.id,
    }),
  )
  const sorted = () => [...todos.data].sort((a, b) => a.createdAt - b.createdAt)
  const [error, setError] = createSignal('')
  const report = (promise: Promise<unknown>) =>
    promise.then(
      () => setError(''),
      (failure: Error) => setError(failure.message),
    )

  const add = (event: SubmitEvent & { currentTarget: HTMLFormElement }) => {
    event.preventDefault()
    const input = event.currentTarget.elements.namedItem('title') as HTMLInputElement
    const title = input.value.trim()
    if (!title) return
    input.value = ''
    const todo = { id: crypto.randomUUID(), title, done: false, createdBy: userName, createdAt: Date.now() }
    report(todos.collection.insert(todo).isPersisted.promise)
  }
  const toggle = (todo: Todo) =>
    report(
      todos.collection.update(todo.id, (draft) => {
        draft.done = !draft.done
      }).isPersisted.promise,
    )

  return (
    <section class="card todos">
      <h2>
        Team todos{' '}
        <span class="muted">{todos.isReady ? `${sorted().filter((todo) => !todo.done).length} left` : 'loading…'}</span>
      </h2>
      <form onSubmit={add}>
        <input name="title" autocomplete="off" placeholder="Add a todo…" maxLength={200} aria-label="New todo" />
        <button type="submit">Add</button>
      </form>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
      <ul data-testid="todos">
        <For each={sorted()}>
          {(todo) => (
            <li classList={{ done: todo.done }}>
              <label>
                <input type="checkbox" checked={todo.done} onChange={() => toggle(todo)} />
                <span class="title">{todo.title}</span>
              </label>
              <span class="by">{todo.createdBy}</span>
              <button
                type="button"
                class="delete"
                aria-label={`Delete ${todo.title}`}
                onClick={() => report(todos.collection.delete(todo.id).isPersisted.promise)}
              >
                ×
              </button>
            </li>
          )}
        </For>
      </ul>
    </section>
  )
}
