import { DurableObject } from 'cloudflare:workers'
import {
  CloseCodes,
  InvalidChannelKeyError,
  InvalidError,
  parseChannelKey,
  type StreamPosition,
  type WireMember,
} from '@tanstack/realtime'
import type { HistoryMessage, ServerConfig } from '@tanstack/realtime/server'
import { ChannelHost } from './channel-host.js'
import { historyLimit, type RealtimeChannelOptions, resolveChannelOptions } from './options.js'
import type { WorkerdEnv } from './runtime-types.js'
import { AUTH_HEADER, channelFromPath, decodeAuth, errorResponse } from './wire.js'

const PING = '{"t":"ping"}'
const PONG = '{"t":"pong"}'

/**
 * The Durable Object behind one channel: every socket of the channel `["chat",{"roomId":"42"}]`
 * reaches the object named by that serialized key (`idFromName`), so each channel has its own
 * state and scales to zero when idle. It hosts the channel core of `@tanstack/realtime/server`
 * (the same semantics as the Node server) over Durable Object storage and socket attachments.
 *
 * It uses the WebSocket Hibernation API: an idle channel is evicted from memory while its sockets
 * stay open. Presence lives in socket attachments and the sequence number and bounded history in
 * Durable Object storage, so both survive eviction and clients resume exactly as on Node. Heartbeat
 * pings are answered by the runtime without waking the object.
 *
 * Requests it serves (routed by {@link createWorkerdHandler} and {@link publish}):
 * - a WebSocket upgrade from the Worker, which has authenticated and authorized it;
 * - `POST` with `{ "data": ... }`: server-side publish, answered with `{ seq, epoch }`;
 * - `GET`: `{ channel, seq, epoch, connections, subscribers, members }` for dashboards and tests;
 * - the RPC methods {@link RealtimeChannel.publish}, {@link RealtimeChannel.presence} and
 *   {@link RealtimeChannel.history}.
 *
 * Export it from your Worker's entry so wrangler can bind it; subclass it to change its options.
 *
 * @example
 * ```ts
 * // worker.ts
 * import { RealtimeChannel } from '@tanstack/realtime-preset-workerd'
 * export { RealtimeChannel }
 *
 * // or, with other limits (bind `class_name = "ChatChannel"`):
 * export class ChatChannel extends RealtimeChannel {
 *   override readonly options = { historySize: 1000, maxMessageBytes: 8192 }
 * }
 * ```
 */
export class RealtimeChannel<Env extends WorkerdEnv = WorkerdEnv> extends DurableObject<Env> {
  /**
   * This class's limits, history, presence and collection options, read when the object first
   * needs them. Override in a subclass; invalid options make requests fail with
   * {@link InvalidOptionsError}.
   */
  readonly options: RealtimeChannelOptions = {}
  #config: ServerConfig | undefined
  #host: Promise<ChannelHost | undefined> | undefined

  /**
   * Called by the Workers runtime.
   *
   * @param ctx - the Durable Object state
   * @param env - the Worker's bindings
   */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // Heartbeats are answered by the runtime: they neither wake the object nor keep it in memory.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG))
  }

  /**
   * Serves the Worker's WebSocket upgrades, server-side publishes (`POST`) and stats (`GET`).
   *
   * @param request - a request whose URL path ends with the encoded channel key
   */
  override async fetch(request: Request): Promise<Response> {
    try {
      const url = new URL(request.url)
      const ch = channelFromPath(url.pathname)
      try {
        if (ch === undefined) throw new InvalidChannelKeyError('The URL path does not end with a channel key.')
        parseChannelKey(ch)
      } catch (error) {
        return errorResponse(400, 'invalid', `${(error as Error).message} Encode serializeChannelKey(key) in the path.`)
      }
      const host = await this.#serving(ch)
      if (!host) {
        return errorResponse(
          400,
          'invalid',
          `This object serves another channel: address it with idFromName(${JSON.stringify(ch)}).`,
        )
      }
      if (request.headers.get('Upgrade')?.toLowerCase() === 'websocket') return await this.#accept(request, url, host)
      if (request.method === 'POST') return await this.#publishRequest(request, host)
      if (request.method === 'GET' || request.method === 'HEAD') return Response.json(host.stats())
      return errorResponse(405, 'invalid', 'Use a WebSocket upgrade, POST { data } to publish, or GET for stats.')
    } catch (error) {
      this.#onError(error)
      return errorResponse(500, 'internal', 'The channel failed to handle the request.')
    }
  }

  /**
   * Server-side publish over RPC: delivers `data` to every subscriber of the channel, with no
   * authorization check (`publish()` of this package calls it).
   *
   * @param channel - the serialized channel key (the object's name)
   * @param data - any JSON value
   * @returns the message's position in the channel's stream
   * @throws {InvalidError} for another channel's key or data that is not JSON; {@link TooLargeError}
   *   past `maxMessageBytes`. Over RPC an error arrives as an `Error` whose message starts with its
   *   code in brackets, such as `[too_large]`.
   */
  publish(channel: string, data: unknown): Promise<StreamPosition> {
    return this.#rpc(channel, (host) => host.publish(data))
  }

  /**
   * Server-side read over RPC: the channel's presence members in join order (`getPresence()` of
   * this package calls it).
   *
   * @param channel - the serialized channel key (the object's name)
   * @throws {InvalidError} for another channel's key (errors arrive as with {@link publish}).
   */
  presence(channel: string): Promise<WireMember[]> {
    return this.#rpc(channel, async (host) => host.presence())
  }

  /**
   * Server-side read over RPC: the newest kept messages, oldest first (`getHistory()` of this
   * package calls it).
   *
   * @param channel - the serialized channel key (the object's name)
   * @param limit - the most messages returned; default all kept
   * @throws {InvalidError} for another channel's key; {@link InvalidOptionsError} for a bad `limit`.
   */
  history(channel: string, limit?: number): Promise<HistoryMessage[]> {
    return this.#rpc(channel, async (host) => host.history(historyLimit(limit)))
  }

  /** Runs an RPC method on the channel's state; an error travels with its code first: `[too_large] ...`. */
  async #rpc<T>(channel: string, method: (host: ChannelHost) => Promise<T>): Promise<T> {
    try {
      const host = await this.#serving(channel)
      if (!host) throw new InvalidError(`This object serves another channel than ${channel}.`)
      return await method(host)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      throw new Error(`[${typeof code === 'string' ? code : 'internal'}] ${(error as Error).message}`)
    }
  }

  /**
   * A frame from a client socket (Hibernation API handler).
   *
   * @param ws - the socket
   * @param message - the frame
   */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await (await this.#loaded())?.session(ws)?.receive(message)
    } catch (error) {
      this.#onError(error)
    }
  }

  /**
   * A client socket closed (Hibernation API handler): its presence stays for the grace period,
   * unless the client said goodbye (1000, 1001).
   *
   * @param ws - the socket
   * @param code - the close code the client sent
   * @param reason - the close reason
   */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      // Complete the closing handshake (runtimes that already did ignore this).
      ws.close(isSendableCloseCode(code) ? code : CloseCodes.Normal, reason.slice(0, 120))
    } catch {}
    await this.#closed(ws, code)
  }

  /**
   * A client socket failed (Hibernation API handler): handled like a close without goodbye.
   *
   * @param ws - the socket
   */
  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#closed(ws)
  }

  /** A socket closed (with `code`) or failed: its session ends. */
  async #closed(ws: WebSocket, code?: number): Promise<void> {
    try {
      const host = await this.#loaded()
      host?.session(ws)?.closed(code)
      // The leave and its onLeave hook finish before the handler returns (the object may be evicted after).
      await host?.core.settled()
    } catch (error) {
      this.#onError(error)
    }
  }

  /** Ends grace periods (announcing leaves) and drops the history of a channel nobody used for `historyTtlMs`. */
  override async alarm(): Promise<void> {
    try {
      const host = await this.#loaded()
      const expired = (await host?.alarm()) === 'expired'
      await host?.core.settled() // the onLeave hooks of members whose grace period ended
      if (expired) this.#host = undefined
    } catch (error) {
      this.#onError(error)
    }
  }

  async #accept(request: Request, url: URL, host: ChannelHost): Promise<Response> {
    const auth = decodeAuth(request.headers.get(AUTH_HEADER))
    if (!auth) {
      return errorResponse(403, 'forbidden', 'Connect through createWorkerdHandler: it authenticates the socket.')
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
    this.ctx.acceptWebSocket(server)
    await host.accept(server, auth, url.searchParams.get('resume'))
    return new Response(null, { status: 101, webSocket: client })
  }

  async #publishRequest(request: Request, host: ChannelHost): Promise<Response> {
    let body: unknown
    try {
      body = JSON.parse(await request.text())
    } catch {
      return errorResponse(400, 'invalid', 'The body must be JSON: { "data": ... }.')
    }
    if (typeof body !== 'object' || body === null || !('data' in body)) {
      return errorResponse(400, 'invalid', 'The body must be { "data": ... }.')
    }
    try {
      return Response.json(await host.publish(body.data))
    } catch (error) {
      const { code, message } = error as { code?: string; message: string }
      if (code === 'invalid') return errorResponse(400, code, message)
      if (code === 'too_large') return errorResponse(413, code, message)
      throw error
    }
  }

  /** The channel's state once loaded (an object that holds sockets has it). */
  #loaded(): Promise<ChannelHost | undefined> {
    return this.#serving(undefined)
  }

  /**
   * The channel's state, created on first use for channel `ch` (the object's name when the runtime
   * gives it); undefined when the object serves another channel than `ch`.
   */
  async #serving(ch: string | undefined): Promise<ChannelHost | undefined> {
    const named = this.ctx.id.name
    if (ch !== undefined && named !== undefined && named !== ch) return undefined
    if (!this.#host) {
      const loading = ChannelHost.load(this.ctx, this.#settings(), this.options.collections ?? {}, named ?? ch)
      this.#host = loading
      loading.then(
        (host) => {
          if (!host && this.#host === loading) this.#host = undefined
        },
        () => {
          if (this.#host === loading) this.#host = undefined
        },
      )
    }
    const host = await this.#host
    return ch === undefined || host?.ch === ch ? host : undefined
  }

  #settings(): ServerConfig {
    this.#config ??= resolveChannelOptions(this.options)
    return this.#config
  }

  #onError(error: unknown) {
    try {
      this.#settings().onError(error)
    } catch {
      console.error('[tanstack-realtime]', error)
    }
  }
}

function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}
