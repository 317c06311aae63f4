import {
  CloseCodes,
  InvalidChannelKeyError,
  parseChannelKey,
  RealtimeError,
  type RealtimeErrorCode,
  type StreamPosition,
} from '@tanstack/realtime'
import {
  type ClientFrame,
  type CollectionSource,
  changesFromOps,
  decodeClientFrame,
  encodeFrame,
  encodeMessageFrame,
  frameTooLarge,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  randomId,
  type ServerFrame,
  TokenBucket,
  tooDeep,
  utf8Length,
  type WireMember,
} from '@tanstack/realtime/server'
import { type ChannelConfig, type RealtimeChannelOptions, resolveChannelOptions } from './options.js'
import type { HibernatableWebSocket, RealtimeChannelState, WorkerdEnv } from './runtime-types.js'
import {
  type ChannelMeta,
  fromBytes,
  GRACE_KEY,
  type GracedMember,
  META_KEY,
  messageKey,
  type SocketState,
  toBytes,
} from './storage.js'
import {
  AUTH_HEADER,
  CAN_PRESENCE,
  CAN_PUBLISH,
  CAN_SUBSCRIBE,
  channelFromPath,
  decodeAuth,
  errorResponse,
} from './wire.js'

const PING = '{"t":"ping"}'
const PONG = '{"t":"pong"}'
const OPEN = 1
const RESUME_TOKEN = /^[A-Za-z0-9]{16,64}$/

type Frame<T extends ClientFrame['t']> = Extract<ClientFrame, { t: T }>

/** The channel's metadata in memory, with its key's JSON for building message frames. */
interface LoadedMeta extends ChannelMeta {
  chJson: string
}

/**
 * The Durable Object behind one channel: every socket of the channel `["chat",{"roomId":"42"}]`
 * reaches the object named by that serialized key (`idFromName`), so each channel has its own
 * state and scales to zero when idle.
 *
 * It uses the WebSocket Hibernation API: an idle channel is evicted from memory while its sockets
 * stay open. Presence lives in socket attachments and the sequence number and bounded history in
 * Durable Object storage, so both survive eviction and clients resume exactly as on Node. Heartbeat
 * pings are answered by the runtime without waking the object.
 *
 * Requests it serves (routed by {@link createWorkerdHandler} and {@link publish}):
 * - a WebSocket upgrade from the Worker, which has authenticated and authorized it;
 * - `POST` with `{ "data": ... }`: server-side publish, answered with `{ seq, epoch }`;
 * - `GET`: `{ channel, seq, epoch, connections, subscribers, members }` for dashboards and tests.
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
export class RealtimeChannel<Env extends WorkerdEnv = WorkerdEnv> {
  /**
   * This class's limits, history and presence rules, read when the object first needs them.
   * Override in a subclass; invalid options make requests fail with {@link InvalidOptionsError}.
   */
  readonly options: RealtimeChannelOptions = {}
  protected readonly ctx: RealtimeChannelState
  protected readonly env: Env
  #config: ChannelConfig | undefined
  #meta: Promise<LoadedMeta | undefined> | undefined
  #grace: Promise<Map<string, GracedMember>> | undefined
  /** Socket states read from attachments, cached for this instance's life. */
  readonly #sockets = new WeakMap<HibernatableWebSocket, SocketState>()
  /** Sockets that closed or were closed by this object (they may still be listed while closing). */
  readonly #gone = new WeakSet<HibernatableWebSocket>()
  readonly #buckets = new WeakMap<HibernatableWebSocket, TokenBucket>()
  #lastJoin = 0

  /**
   * Called by the Workers runtime.
   *
   * @param ctx - the Durable Object state
   * @param env - the Worker's bindings
   */
  constructor(ctx: RealtimeChannelState, env: Env) {
    this.ctx = ctx
    this.env = env
    const Pair = (globalThis as { WebSocketRequestResponsePair?: new (request: string, response: string) => unknown })
      .WebSocketRequestResponsePair
    // Heartbeats are answered by the runtime: they neither wake the object nor keep it in memory.
    if (Pair) ctx.setWebSocketAutoResponse(new Pair(PING, PONG))
  }

  /**
   * Serves the Worker's WebSocket upgrades, server-side publishes (`POST`) and stats (`GET`).
   *
   * @param request - a request whose URL path ends with the encoded channel key
   */
  async fetch(request: Request): Promise<Response> {
    try {
      const url = new URL(request.url)
      const ch = channelFromPath(url.pathname)
      try {
        if (ch === undefined) throw new InvalidChannelKeyError('The URL path does not end with a channel key.')
        parseChannelKey(ch)
      } catch (error) {
        return errorResponse(400, 'invalid', `${(error as Error).message} Encode serializeChannelKey(key) in the path.`)
      }
      const named = this.ctx.id.name
      const meta = await this.#load(ch)
      if ((named !== undefined && named !== ch) || meta === undefined || meta.ch !== ch) {
        return errorResponse(
          400,
          'invalid',
          `This object serves another channel: address it with idFromName(${JSON.stringify(ch)}).`,
        )
      }
      if (request.headers.get('Upgrade')?.toLowerCase() === 'websocket') return await this.#accept(request, url, meta)
      if (request.method === 'POST') return await this.#publishRequest(request, meta)
      if (request.method === 'GET' || request.method === 'HEAD') return Response.json(this.#stats(meta))
      return errorResponse(405, 'invalid', 'Use a WebSocket upgrade, POST { data } to publish, or GET for stats.')
    } catch (error) {
      this.#onError(error)
      return errorResponse(500, 'internal', 'The channel failed to handle the request.')
    }
  }

  /**
   * A frame from a client socket (Hibernation API handler).
   *
   * @param ws - the socket
   * @param message - the frame
   */
  async webSocketMessage(ws: HibernatableWebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = this.#state(ws)
    if (!state) return
    let id: number | undefined
    try {
      const config = this.#settings()
      const size = typeof message === 'string' ? message.length : message.byteLength
      if (size > config.maxFrameChars) {
        send(ws, encodeFrame(frameTooLarge(config.maxFrameChars)))
        await this.#drop(ws, CloseCodes.MessageTooBig, 'frame too large')
        return
      }
      // Binary frames are refused by the decoder, as on every server.
      const frame = decodeClientFrame(message)
      if (!('error' in frame) && frame.t === 'ping') return send(ws, PONG)
      id = frame.id
      // Every other frame costs a token, malformed ones included.
      if (config.rateLimit) {
        let bucket = this.#buckets.get(ws)
        if (!bucket) {
          bucket = new TokenBucket(config.rateLimit)
          this.#buckets.set(ws, bucket)
        }
        if (!bucket.take()) {
          if (bucket.flooding) return await this.#drop(ws, CloseCodes.RateLimited, 'rate limit exceeded')
          return this.#error(ws, frame.id, 'rate_limited', 'Too many requests: slow down and retry.')
        }
      }
      if ('error' in frame) return this.#error(ws, frame.id, 'invalid', frame.error)
      const meta = await this.#load()
      if (!meta) throw new Error('The channel has no state although a socket is connected.')
      if (frame.ch !== meta.ch) {
        return this.#error(
          ws,
          frame.id,
          'invalid',
          `This socket serves ${meta.ch}: open another socket for ${frame.ch} (one socket per channel).`,
        )
      }
      switch (frame.t) {
        case 'sub':
          return await this.#subscribe(ws, state, frame, meta)
        case 'unsub':
          if (state.sub) this.#save(ws, { ...state, sub: false })
          return this.#ack(ws, frame.id)
        case 'pub':
          return this.#publishFrame(ws, state, frame, meta)
        case 'pjoin':
          return await this.#join(ws, state, frame, meta)
        case 'pset':
          return this.#update(ws, state, frame, meta)
        case 'snap':
          return await this.#snapshot(ws, state, frame, meta)
        case 'write':
          return await this.#write(ws, state, frame, meta)
        case 'pleave':
          if (state.p !== undefined) {
            this.#save(ws, { ...state, p: undefined, j: undefined, u: undefined })
            this.#announce({ t: 'pres', ch: meta.ch, ev: 'leave', cid: state.cid }, ws)
          }
          return this.#ack(ws, frame.id)
      }
    } catch (error) {
      this.#onError(error)
      this.#error(ws, id, 'internal', 'The server failed to handle this request.')
    }
  }

  /**
   * A client socket closed (Hibernation API handler): its presence stays for the grace period.
   *
   * @param ws - the socket
   * @param code - the close code the client sent
   * @param reason - the close reason
   */
  async webSocketClose(ws: HibernatableWebSocket, code: number, reason: string): Promise<void> {
    try {
      // Complete the closing handshake (runtimes that already did ignore this).
      ws.close(isSendableCloseCode(code) ? code : CloseCodes.Normal, reason.slice(0, 120))
    } catch {}
    await this.#dropped(ws, code === CloseCodes.Normal || code === CloseCodes.GoingAway)
  }

  /**
   * A client socket failed (Hibernation API handler): handled like a close.
   *
   * @param ws - the socket
   */
  async webSocketError(ws: HibernatableWebSocket): Promise<void> {
    await this.#dropped(ws)
  }

  /** Ends grace periods (announcing leaves) and drops the history of a channel nobody used for `historyTtlMs`. */
  async alarm(): Promise<void> {
    try {
      const meta = await this.#load()
      if (!meta) return
      const grace = await this.#graced()
      const now = Date.now()
      let changed = false
      for (const [cid, member] of grace) {
        if (member.until > now) continue
        grace.delete(cid)
        changed = true
        this.#announce({ t: 'pres', ch: meta.ch, ev: 'leave', cid }, undefined)
      }
      if (changed) this.#persist({ [GRACE_KEY]: Object.fromEntries(grace) })
      for (const ws of this.#live()) {
        const state = this.#state(ws)
        if (state?.p === undefined || state.u === undefined || state.u > now) continue
        // Resumed with presence it did not join again: it left while it was away.
        this.#save(ws, { ...state, p: undefined, j: undefined, u: undefined })
        this.#announce({ t: 'pres', ch: meta.ch, ev: 'leave', cid: state.cid }, ws)
      }
      if (grace.size === 0 && this.#live().length === 0 && meta.touched + this.#settings().historyTtlMs <= now) {
        // History expires: the next use starts a new epoch, so late resumers are told to reset.
        this.#meta = undefined
        this.#grace = undefined
        await this.ctx.storage.deleteAll()
        return
      }
      await this.#schedule(meta)
    } catch (error) {
      this.#onError(error)
    }
  }

  async #accept(request: Request, url: URL, meta: LoadedMeta): Promise<Response> {
    const auth = decodeAuth(request.headers.get(AUTH_HEADER))
    if (!auth) {
      return errorResponse(403, 'forbidden', 'Connect through createWorkerdHandler: it authenticates the socket.')
    }
    const config = this.#settings()
    let cid = randomId()
    let resumed = false
    let presence: { p: Uint8Array; j: number; u: number } | undefined
    const resume = url.searchParams.get('resume')
    if (resume !== null && RESUME_TOKEN.test(resume)) {
      // The same client is back with its connection's secret: it keeps the id and, until it joins
      // again (or the grace period ends), its presence; others see no leave and no join.
      const until = Date.now() + config.graceMs
      const grace = await this.#graced()
      const graced = [...grace].find(([, member]) => member.rt === resume && member.uid === auth.uid)
      if (graced) {
        grace.delete(graced[0])
        this.#persist({ [GRACE_KEY]: Object.fromEntries(grace) })
        cid = graced[0]
        resumed = true
        presence = { p: graced[1].p, j: graced[1].j, u: until }
      } else {
        for (const ws of this.#live()) {
          const state = this.#state(ws)
          if (state?.rt !== resume || state.uid !== auth.uid) continue
          // Its old socket is half-dead and not noticed yet: the new one takes over.
          cid = state.cid
          resumed = true
          if (state.p !== undefined) presence = { p: state.p, j: state.j ?? 0, u: until }
          this.#save(ws, { ...state, p: undefined, j: undefined, sub: false })
          this.#gone.add(ws)
          ws.close(CloseCodes.Replaced, 'replaced by a newer connection')
        }
      }
    }
    const pair = new WebSocketPair()
    const client = pair[0]
    const server = pair[1] as unknown as HibernatableWebSocket
    this.ctx.acceptWebSocket(server)
    const rt = randomId(24)
    this.#save(server, { cid, rt, uid: auth.uid, perm: auth.perm, sub: false, ...presence })
    send(server, encodeFrame({ t: 'hello', cid, uid: auth.uid, resumed, resume: rt, limits: config.limits }))
    await this.#schedule(meta)
    return new Response(null, { status: 101, webSocket: client })
  }

  async #subscribe(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'sub'>, meta: LoadedMeta) {
    if (!(state.perm & CAN_SUBSCRIBE)) return this.#forbidden(ws, frame.id, 'subscribe', meta)
    const { since } = frame
    let missed: string[] = []
    let reset = false
    if (since) {
      const kept = Math.min(meta.seq, this.#settings().historySize)
      if (since.epoch !== meta.epoch || since.seq > meta.seq || since.seq < meta.seq - kept) reset = true
      else if (since.seq < meta.seq) {
        const stored = await this.ctx.storage.list<Uint8Array>({
          start: messageKey(since.seq + 1),
          end: messageKey(meta.seq + 1),
        })
        if (stored.size !== meta.seq - since.seq) reset = true
        else {
          let seq = since.seq
          for (const bytes of stored.values()) missed.push(encodeMessageFrame(meta.chJson, ++seq, fromBytes(bytes)))
        }
      }
    }
    if (reset) missed = []
    // Storage reads hold back other events (input gate): nothing is published between the read and
    // the ack, so the replay plus live messages have no gap and no duplicate.
    for (const text of missed) send(ws, text)
    send(ws, encodeFrame({ t: 'ack', id: frame.id, seq: meta.seq, epoch: meta.epoch, ...(reset && { reset: true }) }))
    if (!state.sub) this.#save(ws, { ...state, sub: true })
  }

  #publishFrame(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'pub'>, meta: LoadedMeta) {
    const dataJson = JSON.stringify(frame.data)
    const max = this.#settings().limits.maxMessageBytes
    if (utf8Length(dataJson) > max) return this.#error(ws, frame.id, 'too_large', `Message larger than ${max} bytes.`)
    if (!(state.perm & CAN_PUBLISH)) return this.#forbidden(ws, frame.id, 'publish', meta)
    const seq = this.#append(meta, dataJson)
    send(ws, `{"t":"ack","id":${frame.id},"seq":${seq}}`)
  }

  async #publishRequest(request: Request, meta: LoadedMeta): Promise<Response> {
    let body: unknown
    try {
      body = JSON.parse(await request.text())
    } catch {
      return errorResponse(400, 'invalid', 'The body must be JSON: { "data": ... }.')
    }
    if (typeof body !== 'object' || body === null || !('data' in body)) {
      return errorResponse(400, 'invalid', 'The body must be { "data": ... }.')
    }
    if (nestedDeeperThan(body.data, MAX_JSON_DEPTH)) return errorResponse(400, 'invalid', tooDeep('Message data'))
    const dataJson = JSON.stringify((body as { data: unknown }).data)
    const max = this.#settings().limits.maxMessageBytes
    if (utf8Length(dataJson) > max) {
      return errorResponse(413, 'too_large', `Message is larger than maxMessageBytes (${max}).`)
    }
    const seq = this.#append(meta, dataJson)
    await this.#schedule(meta)
    const position: StreamPosition = { seq, epoch: meta.epoch }
    return Response.json(position)
  }

  /** Appends a message to the channel's history and delivers it to every subscriber. */
  #append(meta: LoadedMeta, dataJson: string): number {
    const seq = ++meta.seq
    meta.touched = Date.now()
    const { historySize } = this.#settings()
    const entries: Record<string, unknown> = { [META_KEY]: storedMeta(meta) }
    if (historySize > 0) entries[messageKey(seq)] = toBytes(dataJson)
    // Not awaited: the output gate holds every frame sent below until these writes are durable.
    this.#persist(entries)
    if (historySize > 0 && seq > historySize) {
      this.ctx.storage.delete([messageKey(seq - historySize)]).catch((error) => this.#onError(error))
    }
    const text = encodeMessageFrame(meta.chJson, seq, dataJson)
    for (const ws of this.#live()) if (this.#state(ws)?.sub) send(ws, text)
    return seq
  }

  #collection(ws: HibernatableWebSocket, id: number, meta: LoadedMeta): CollectionSource<string> | undefined {
    const name = parseChannelKey(meta.ch)[0]
    const collections = this.options.collections ?? {}
    const source = Object.hasOwn(collections, name) ? collections[name] : undefined
    if (!source) this.#error(ws, id, 'invalid', `No collection is served on channel "${name}".`)
    return source
  }

  /** A collection snapshot: the rows, and the position read before loading them (changes after it follow). */
  async #snapshot(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'snap'>, meta: LoadedMeta) {
    const source = this.#collection(ws, frame.id, meta)
    if (!source) return
    if (!(state.perm & CAN_SUBSCRIBE)) return this.#forbidden(ws, frame.id, 'subscribe', meta)
    const { seq, epoch } = meta
    try {
      const rows = await source.load(parseChannelKey(meta.ch), state.uid)
      if (!Array.isArray(rows)) throw new TypeError('A collection source load() must return an array of rows.')
      send(ws, encodeFrame({ t: 'ack', id: frame.id, rows, seq, epoch }))
    } catch (error) {
      this.#rejected(ws, frame.id, error, 'The server failed to load the collection.')
    }
  }

  /** Client writes to a collection: applied by the source, then broadcast as `{ changes }`. */
  async #write(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'write'>, meta: LoadedMeta) {
    const source = this.#collection(ws, frame.id, meta)
    if (!source) return
    if (!source.write) return this.#error(ws, frame.id, 'forbidden', 'This collection is read-only.')
    if (!(state.perm & CAN_PUBLISH)) return this.#forbidden(ws, frame.id, 'publish', meta)
    // One write at a time: the broadcast order is the order the source applied them (a source's I/O
    // does not hold the input gate, so two writes could otherwise interleave).
    const run = this.#writes.then(async () => {
      try {
        const changes =
          (await source.write?.(frame.ops, { channel: parseChannelKey(meta.ch), identity: state.uid })) ??
          changesFromOps(frame.ops)
        const dataJson = JSON.stringify({ changes })
        const max = this.#settings().limits.maxMessageBytes
        if (utf8Length(dataJson) > max) {
          return this.#error(ws, frame.id, 'too_large', `The resulting changes are larger than ${max} bytes.`)
        }
        const seq = this.#append(meta, dataJson)
        send(ws, encodeFrame({ t: 'ack', id: frame.id, seq, epoch: meta.epoch }))
      } catch (error) {
        this.#rejected(ws, frame.id, error, 'The server failed to apply the write.')
      }
    })
    this.#writes = run
    await run
  }

  /** The last collection write in progress (writes run one at a time). */
  #writes: Promise<void> = Promise.resolve()

  /** A user callback threw: a RealtimeError reaches the client as is, anything else is reported. */
  #rejected(ws: HibernatableWebSocket, id: number, error: unknown, message: string) {
    if (error instanceof RealtimeError) return this.#error(ws, id, error.code, error.message)
    this.#onError(error)
    this.#error(ws, id, 'internal', message)
  }

  async #join(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'pjoin'>, meta: LoadedMeta) {
    const json = JSON.stringify(frame.state)
    const max = this.#settings().limits.maxPresenceBytes
    if (utf8Length(json) > max)
      return this.#error(ws, frame.id, 'too_large', `Presence state larger than ${max} bytes.`)
    if (!(state.perm & CAN_PRESENCE)) return this.#forbidden(ws, frame.id, 'presence', meta)
    const j = state.j ?? this.#nextJoin()
    this.#save(ws, { ...state, p: toBytes(json), j, u: undefined })
    const member: WireMember = { cid: state.cid, uid: state.uid, state: frame.state }
    this.#announce({ t: 'pres', ch: meta.ch, ev: 'join', m: member }, ws)
    send(ws, encodeFrame({ t: 'ack', id: frame.id, members: await this.#members() }))
  }

  #update(ws: HibernatableWebSocket, state: SocketState, frame: Frame<'pset'>, meta: LoadedMeta) {
    if (state.p === undefined) {
      return this.#error(ws, frame.id, 'invalid', 'Join presence on this channel before updating it.')
    }
    const json = JSON.stringify({ ...JSON.parse(fromBytes(state.p)), ...frame.patch })
    const max = this.#settings().limits.maxPresenceBytes
    if (utf8Length(json) > max)
      return this.#error(ws, frame.id, 'too_large', `Presence state larger than ${max} bytes.`)
    this.#save(ws, { ...state, p: toBytes(json) })
    this.#announce({ t: 'pres', ch: meta.ch, ev: 'update', cid: state.cid, patch: frame.patch }, ws)
    this.#ack(ws, frame.id)
  }

  /** Every member: present sockets plus dropped connections within their grace period, in join order. */
  async #members(): Promise<WireMember[]> {
    const members: Array<WireMember & { j: number }> = []
    for (const ws of this.#live()) {
      const state = this.#state(ws)
      if (state?.p === undefined) continue
      members.push({ cid: state.cid, uid: state.uid, state: JSON.parse(fromBytes(state.p)), j: state.j ?? 0 })
    }
    for (const [cid, member] of await this.#graced()) {
      members.push({ cid, uid: member.uid, state: JSON.parse(fromBytes(member.p)), j: member.j })
    }
    members.sort((a, b) => a.j - b.j)
    return members.map(({ cid, uid, state }) => ({ cid, uid, state }))
  }

  /** Sends a presence event to every present socket but `origin`. */
  #announce(event: ServerFrame, origin: HibernatableWebSocket | undefined) {
    const text = encodeFrame(event)
    for (const ws of this.#live()) {
      if (ws !== origin && this.#state(ws)?.p !== undefined) send(ws, text)
    }
  }

  /** Closes a socket from this side and lets go of it at once. */
  async #drop(ws: HibernatableWebSocket, code: number, reason: string) {
    try {
      ws.close(code, reason)
    } catch {}
    await this.#dropped(ws)
  }

  /** A socket is gone: its presence enters the grace period (or leaves at once without one). */
  async #dropped(ws: HibernatableWebSocket, goodbye = false) {
    if (this.#gone.has(ws)) return
    const state = this.#state(ws)
    this.#gone.add(ws)
    // The attachment outlives eviction while the socket finishes closing: clear what it holds, so a
    // close event after a wake-up cannot bring the member back.
    if (state && (state.p !== undefined || state.sub)) {
      try {
        this.#save(ws, { ...state, p: undefined, j: undefined, u: undefined, sub: false })
      } catch {} // the socket may already be gone
    }
    try {
      const meta = await this.#load()
      if (!state || !meta) return
      if (state.p !== undefined) {
        const { graceMs } = this.#settings()
        // A client that said goodbye (1000 disconnect(), 1001 page unload) leaves at once.
        if (graceMs === 0 || goodbye) this.#announce({ t: 'pres', ch: meta.ch, ev: 'leave', cid: state.cid }, ws)
        else {
          const grace = await this.#graced()
          grace.set(state.cid, {
            uid: state.uid,
            rt: state.rt,
            p: state.p,
            j: state.j ?? 0,
            until: Date.now() + graceMs,
          })
          this.#persist({ [GRACE_KEY]: Object.fromEntries(grace) })
        }
      }
      if (this.#live().length === 0) {
        meta.touched = Date.now()
        this.#persist({ [META_KEY]: storedMeta(meta) })
      }
      await this.#schedule(meta)
    } catch (error) {
      this.#onError(error)
    }
  }

  /** Sets the alarm for the next grace period end, or for history expiry once nobody is connected. */
  async #schedule(meta: LoadedMeta) {
    let next = Number.POSITIVE_INFINITY
    for (const member of (await this.#graced()).values()) next = Math.min(next, member.until)
    for (const ws of this.#live()) {
      const until = this.#state(ws)?.u
      if (until !== undefined) next = Math.min(next, until)
    }
    if (this.#live().length === 0) next = Math.min(next, meta.touched + this.#settings().historyTtlMs)
    if (next === Number.POSITIVE_INFINITY) await this.ctx.storage.deleteAlarm()
    else await this.ctx.storage.setAlarm(next)
  }

  #stats(meta: LoadedMeta) {
    let subscribers = 0
    let members = 0
    const live = this.#live()
    for (const ws of live) {
      const state = this.#state(ws)
      if (state?.sub) subscribers++
      if (state?.p !== undefined) members++
    }
    return { channel: meta.ch, seq: meta.seq, epoch: meta.epoch, connections: live.length, subscribers, members }
  }

  /** Open sockets of this channel (the runtime still lists a socket while its close is handled). */
  #live(): HibernatableWebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => !this.#gone.has(ws) && ws.readyState === OPEN)
  }

  #state(ws: HibernatableWebSocket): SocketState | undefined {
    let state = this.#sockets.get(ws)
    if (!state) {
      state = ws.deserializeAttachment() as SocketState | undefined
      if (state) this.#sockets.set(ws, state)
    }
    return state
  }

  #save(ws: HibernatableWebSocket, state: SocketState) {
    const attachment: SocketState = { cid: state.cid, rt: state.rt, uid: state.uid, perm: state.perm, sub: state.sub }
    if (state.p !== undefined) {
      attachment.p = state.p
      attachment.j = state.j ?? 0
      if (state.u !== undefined) attachment.u = state.u
    }
    ws.serializeAttachment(attachment)
    this.#sockets.set(ws, attachment)
  }

  /** The channel's metadata, created with a new epoch on first use (named by `idFromName`, else by the path). */
  #load(ch?: string): Promise<LoadedMeta | undefined> {
    this.#meta ??= this.ctx.storage.get<ChannelMeta>(META_KEY).then((stored) => {
      if (stored) return { ...stored, chJson: JSON.stringify(stored.ch) }
      const name = this.ctx.id.name ?? ch
      if (name === undefined) return undefined
      const meta = { ch: name, chJson: JSON.stringify(name), epoch: randomId(12), seq: 0, touched: Date.now() }
      this.#persist({ [META_KEY]: storedMeta(meta) })
      return meta
    })
    const loading = this.#meta
    loading.catch(() => {
      if (this.#meta === loading) this.#meta = undefined
    })
    return loading
  }

  #graced(): Promise<Map<string, GracedMember>> {
    this.#grace ??= this.ctx.storage
      .get<Record<string, GracedMember>>(GRACE_KEY)
      .then((stored) => new Map(Object.entries(stored ?? {})))
    return this.#grace
  }

  #persist(entries: Record<string, unknown>) {
    this.ctx.storage.put(entries).catch((error) => this.#onError(error))
  }

  #nextJoin(): number {
    this.#lastJoin = Math.max(Date.now(), this.#lastJoin + 1)
    return this.#lastJoin
  }

  #settings(): ChannelConfig {
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

  #ack(ws: HibernatableWebSocket, id: number) {
    send(ws, `{"t":"ack","id":${id}}`)
  }

  #forbidden(ws: HibernatableWebSocket, id: number, permission: string, meta: LoadedMeta) {
    this.#error(ws, id, 'forbidden', `Not allowed to ${permission} on ${meta.ch}.`)
  }

  #error(ws: HibernatableWebSocket, id: number | undefined, code: RealtimeErrorCode, msg: string) {
    send(ws, encodeFrame(id === undefined ? { t: 'err', code, msg } : { t: 'err', id, code, msg }))
  }
}

function storedMeta(meta: ChannelMeta): ChannelMeta {
  return { ch: meta.ch, epoch: meta.epoch, seq: meta.seq, touched: meta.touched }
}

function send(ws: HibernatableWebSocket, text: string) {
  try {
    ws.send(text)
  } catch {
    // The socket closed meanwhile; its close handler cleans up.
  }
}

function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}
