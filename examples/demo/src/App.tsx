import { usePresence } from '@tanstack/react-realtime'
import { useRef } from 'react'
import { Chat } from './Chat'
import { Cursors } from './Cursors'
import { cursorsChannel } from './client'
import { colorOf, userName } from './identity'
import { StatusBar } from './StatusBar'
import { Todos } from './Todos'

export function App() {
  const board = useRef<HTMLElement>(null)
  const { others, updatePresence } = usePresence(cursorsChannel, {
    params: { boardId: 'main' },
    initial: { name: userName, cursor: null },
  })
  const onPointerMove = (event: React.PointerEvent) => {
    const rect = board.current?.getBoundingClientRect()
    if (!rect) return
    updatePresence({
      cursor: {
        x: ((event.clientX - rect.left) / rect.width) * 100,
        y: ((event.clientY - rect.top) / rect.height) * 100,
      },
    })
  }
  return (
    <div className="app">
      <header>
        <div className="brand">
          <span className="logo">◆</span> TanStack Realtime <span className="muted">demo</span>
        </div>
        <div className="who">
          <span className="online" title={others.map((o) => o.state.name).join(', ')}>
            {others.length + 1} online
          </span>
          <span className="me" style={{ background: colorOf(userName) }}>
            {userName}
          </span>
          <StatusBar />
        </div>
      </header>
      <main ref={board} onPointerMove={onPointerMove} onPointerLeave={() => updatePresence({ cursor: null })}>
        <Todos />
        <Chat />
        <Cursors others={others} />
      </main>
      <footer>Open this page in a second tab: each tab is another user.</footer>
    </div>
  )
}
