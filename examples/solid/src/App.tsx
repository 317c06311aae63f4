import { usePresence, useRealtime } from '@tanstack/solid-realtime'
import { cursorsChannel } from '../../demo/src/client'
import { userName } from '../../demo/src/identity'
import { Chat } from './Chat'
import { Todos } from './Todos'

export function App() {
  const realtime = useRealtime()
  const presence = usePresence(cursorsChannel, {
    params: { boardId: 'main' },
    initial: { name: userName, cursor: null },
  })
  const names = () => [userName, ...presence.others.map((member) => member.state.name)]
  return (
    <div class="app">
      <header>
        <div class="brand">
          <span class="logo">◆</span> TanStack Realtime <span class="muted">Solid</span>
        </div>
        <div class="who">
          <span class="online" data-testid="online" title={names().join(', ')}>
            {names().length} online
          </span>
          <span class="me">{userName}</span>
          <span class="status" data-testid="status" data-status={realtime.status}>
            {realtime.status}
          </span>
        </div>
      </header>
      <main>
        <Todos />
        <Chat />
      </main>
      <footer>
        Here: <span data-testid="names">{names().join(', ')}</span>
      </footer>
    </div>
  )
}
