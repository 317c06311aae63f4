/**
 * The contract between the client core and a preset's transport (`nodeTransport`,
 * `workerdTransport`). A transport only opens sockets; reconnects, requests, subscriptions and
 * presence are the core's job, so every transport behaves the same.
 *
 * @module
 */

/** Callbacks a transport calls for one socket. Calls after `close()` are ignored by the core. */
export interface TransportHandlers {
  /**
   * The token is in hand and the socket is being opened: the connect timeout (`requestTimeoutMs`)
   * runs from now, so a slow `getAuthToken` does not use it up. A transport that never calls it gets
   * the timeout from `onOpen` to the server's hello.
   */
  onDialing?(): void
  /** The socket is open (the server's `hello` frame follows). */
  onOpen(): void
  /** A text frame arrived. */
  onMessage(text: string): void
  /**
   * The socket closed or could not open, with the close code and reason the platform reports (a
   * server that refuses the connection closes it with 4401, 4403, 4404 or 4500; a socket that could
   * not open is 1006).
   */
  onClose(code: number, reason: string): void
}

/** One open (or opening) socket. */
export interface TransportSocket {
  send(text: string): void
  close(code?: number, reason?: string): void
}

/** What the core asks a transport to open. */
export interface TransportOpenOptions {
  /** The serialized channel key when the transport is per-channel; undefined for a shared socket. */
  channel?: string
  /** Query parameters the core needs on the URL (protocol version, resume id). */
  params: Record<string, string>
  handlers: TransportHandlers
}

/**
 * A way to reach a TanStack Realtime server.
 *
 * - `shared`: one socket carries every channel (the Node preset).
 * - `per-channel`: one socket per channel, each reaching the channel's own server object
 *   (the Workers preset's Durable Objects).
 */
export interface RealtimeTransport {
  readonly mode: 'shared' | 'per-channel'
  open(options: TransportOpenOptions): TransportSocket
}
