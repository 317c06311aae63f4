// The test page around docs/auth.md's client: subscribes, and shows what it got.
import { client } from './auth-client.js'

const page = window as unknown as { received: unknown[] }
page.received = []
client
  .subscribe(['news'], (message) => page.received.push(message))
  .ready.then(() => {
    document.title = `live as ${client.userId}`
  })
