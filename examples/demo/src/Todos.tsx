import { useLiveCollection } from '@tanstack/react-realtime/collections'
import { liveCollectionOptions } from '@tanstack/realtime'
import { type FormEvent, useState } from 'react'
import { client, type Todo, todosChannel } from './client'
import { colorOf, userName } from './identity'

export function Todos() {
  const {
    data: todos,
    collection,
    isReady,
  } = useLiveCollection(
    liveCollectionOptions({
      client,
      channel: todosChannel,
      params: { listId: 'team' },
      getId: (todo: Todo) => todo.id,
    }),
  )
  const [error, setError] = useState<string>()
  const report = (promise: Promise<unknown>) =>
    promise.then(
      () => setError(undefined),
      (failure: Error) => setError(failure.message),
    )

  const add = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const input = event.currentTarget.elements.namedItem('title') as HTMLInputElement
    const title = input.value.trim()
    if (!title) return
    input.value = ''
    const tx = collection.insert({
      id: crypto.randomUUID(),
      title,
      done: false,
      createdBy: userName,
      createdAt: Date.now(),
    })
    report(tx.isPersisted.promise)
  }

  const sorted = [...todos].sort((a, b) => a.createdAt - b.createdAt)
  const left = sorted.filter((todo) => !todo.done).length
  return (
    <section className="card todos">
      <h2>
        Team todos <span className="muted">{isReady ? `${left} left` : 'loading…'}</span>
      </h2>
      <form onSubmit={add}>
        <input name="title" autoComplete="off" placeholder="Add a todo…" maxLength={200} aria-label="New todo" />
        <button type="submit">Add</button>
      </form>
      {error && <p className="error">{error}</p>}
      <ul data-testid="todos">
        {sorted.map((todo) => (
          <li key={todo.id} className={todo.done ? 'done' : undefined}>
            <label>
              <input
                type="checkbox"
                checked={todo.done}
                onChange={() =>
                  report(
                    collection.update(todo.id, (draft) => {
                      draft.done = !draft.done
                    }).isPersisted.promise,
                  )
                }
              />
              <span className="title">{todo.title}</span>
            </label>
            <span className="by" style={{ color: colorOf(todo.createdBy) }}>
              {todo.createdBy}
            </span>
            <button
              type="button"
              className="delete"
              aria-label={`Delete ${todo.title}`}
              onClick={() => report(collection.delete(todo.id).isPersisted.promise)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}
