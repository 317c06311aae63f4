import type { PresenceMember } from '@tanstack/react-realtime'
import type { CursorState } from './client'
import { colorOf } from './identity'

export function Cursors({ others }: { others: PresenceMember<CursorState>[] }) {
  return (
    <div className="cursors" aria-hidden>
      {others.map(({ connectionId, state }) =>
        state.cursor ? (
          <div
            key={connectionId}
            className="cursor"
            data-user={state.name}
            style={{ left: `${state.cursor.x}%`, top: `${state.cursor.y}%`, color: colorOf(state.name) }}
          >
            <svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">
              <path d="M2 2 L16 8 L9 10 L7 16 Z" fill="currentColor" stroke="white" strokeWidth="1.5" />
            </svg>
            <span style={{ background: colorOf(state.name) }}>{state.name}</span>
          </div>
        ) : null,
      )}
    </div>
  )
}
