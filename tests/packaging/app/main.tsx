// The packaging test's page: the README's live collections (Todos, OpenTodos) in the README's provider, with a
// button that inserts a todo. Built from the fresh app's node_modules; `./client.js` and `./live.js` are made
// from the README and docs/react.md.
import { RealtimeProvider } from '@tanstack/react-realtime'
import { useLiveCollection } from '@tanstack/react-realtime/collections'
import { liveCollectionOptions } from '@tanstack/realtime'
import { createRoot } from 'react-dom/client'
import { client } from './client.js'
import { OpenTodos, type Todo, Todos, todosChannel } from './live.js'

const teamId = 'packaging'

function Page() {
  const { collection } = useLiveCollection(
    liveCollectionOptions({ client, channel: todosChannel, params: { teamId }, getId: (todo: Todo) => todo.id }),
  )
  const add = () => {
    const title = new URLSearchParams(window.location.search).get('add') ?? 'Added'
    collection.insert({ id: crypto.randomUUID(), title, done: false })
  }
  return (
    <RealtimeProvider client={client}>
      <button type="button" onClick={add}>
        Add
      </button>
      <section data-testid="todos">
        <Todos teamId={teamId} />
      </section>
      <section data-testid="open">
        <OpenTodos todos={collection} />
      </section>
    </RealtimeProvider>
  )
}

const root = document.getElementById('root')
if (root) createRoot(root).render(<Page />)
