import { usePublish, useSubscribe } from '@tanstack/react-realtime'
import { ValidationError } from '@tanstack/realtime'
import { type FormEvent, useEffect, useRef, useState } from 'react'
import { type ChatMessage, chatChannel } from './client'
import { colorOf, userName } from './identity'

const room = chatChannel({ roomId: 'lobby' })

export function Chat() {
  const [messages, setMessages] = useState<ChatMessage[]>([])
  const [error, setError] = useState<string>()
  // rewind: a newly opened tab first shows the room's 20 most recent messages.
  const { status, error: subscribeError } = useSubscribe(
    room,
    (message) => setMessages((previous) => [...previous.slice(-199), message]),
    { rewind: 20 },
  )
  const publish = usePublish(room)
  const list = useRef<HTMLOListElement>(null)
  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight })
  })

  const send = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const input = event.currentTarget.elements.namedItem('text') as HTMLInputElement
    const text = input.value.trim()
    if (!text) return
    input.value = ''
    try {
      setError(undefined)
      // The server adds the author and the time (server.js): a client sends only these.
      await publish({ id: crypto.randomUUID(), text })
    } catch (failure) {
      input.value ||= text
      setError(`Not sent: ${problemOf(failure)}`)
    }
  }

  return (
    <section className="card chat">
      <h2>Chat</h2>
      <ol ref={list} data-testid="messages" data-status={status}>
        {messages.length === 0 && (
          <li className="empty">{status === 'live' ? 'No messages yet. Say hello!' : 'Loading recent messages…'}</li>
        )}
        {messages.map((message) => (
          <li key={message.id} className={message.from === userName ? 'mine' : undefined}>
            <span className="from" style={{ color: colorOf(message.from) }}>
              {message.from}
            </span>
            <span className="text">{message.text}</span>
            <time dateTime={new Date(message.at).toISOString()}>{timeOf(message.at)}</time>
          </li>
        ))}
      </ol>
      {error && <p className="error">{error}</p>}
      {subscribeError && <p className="error">Not connected: {subscribeError.message}</p>}
      <form onSubmit={send}>
        <input name="text" autoComplete="off" placeholder="Message the room…" aria-label="Message" />
        <button type="submit">Send</button>
      </form>
    </section>
  )
}

/** What went wrong, for the page: the schema's findings (checked before sending, and by the server), else the error. */
function problemOf(failure: unknown): string {
  if (failure instanceof ValidationError) return failure.issues.map((issue) => issue.message).join('; ')
  return (failure as Error).message
}

const timeOf = (at: number) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
