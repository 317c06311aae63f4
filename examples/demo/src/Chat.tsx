import { usePublish, useSubscribe } from '@tanstack/react-realtime'
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
      await publish({ id: crypto.randomUUID(), from: userName, text, at: Date.now() })
    } catch (failure) {
      setError(`Not sent: ${(failure as Error).message}`)
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
          </li>
        ))}
      </ol>
      {error && <p className="error">{error}</p>}
      {subscribeError && <p className="error">Not connected: {subscribeError.message}</p>}
      <form onSubmit={send}>
        <input name="text" autoComplete="off" placeholder="Message the room…" maxLength={500} aria-label="Message" />
        <button type="submit">Send</button>
      </form>
    </section>
  )
}
