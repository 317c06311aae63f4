import { usePublish, useSubscribe } from '@tanstack/solid-realtime'
import { createSignal, For, Show } from 'solid-js'
import { type ChatMessage, chatChannel } from '../../demo/src/client'
import { userName } from '../../demo/src/identity'

const room = chatChannel({ roomId: 'lobby' })

export function Chat() {
  const [messages, setMessages] = createSignal<ChatMessage[]>([])
  const [error, setError] = createSignal('')
  useSubscribe(room, (message) => setMessages((previous) => [...previous.slice(-199), message]))
  const publish = usePublish(room)

  const send = async (event: SubmitEvent & { currentTarget: HTMLFormElement }) => {
    event.preventDefault()
    const input = event.currentTarget.elements.namedItem('text') as HTMLInputElement
    const text = input.value.trim()
    if (!text) return
    input.value = ''
    try {
      setError('')
      await publish({ id: crypto.randomUUID(), text }) // the server adds the author and the time
    } catch (failure) {
      setError(`Not sent: ${(failure as Error).message}`)
    }
  }

  return (
    <section class="card chat">
      <h2>Chat</h2>
      <ol data-testid="messages">
        <Show when={messages().length === 0}>
          <li class="empty">No messages yet. Say hello!</li>
        </Show>
        <For each={messages()}>
          {(message) => (
            <li classList={{ mine: message.from === userName }}>
              <span class="from">{message.from}</span>
              <span class="text">{message.text}</span>
            </li>
          )}
        </For>
      </ol>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
      <form onSubmit={send}>
        <input name="text" autocomplete="off" placeholder="Message the room…" maxLength={500} aria-label="Message" />
        <button type="submit">Send</button>
      </form>
    </section>
  )
}
