import { type ChannelKey, parseChannelKey } from '../../channel.js'
import { changesFromOps } from '../../collections/changes.js'
import { InvalidError, RealtimeError, ServerError, TooLargeError, ValidationError } from '../../errors.js'
import {
  type ClientFrame,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  type StreamPosition,
  tooDeep,
  utf8Length,
  type WireMember,
} from '../../protocol.js'
import { describeIssues, type StandardSchemaV1, validateWith } from '../../schema.js'
import type { ServerConfig } from '../config.js'
import { ackFrame, ackPositionFrame, ackSeqFrame, serverFrame } from '../frame.js'
import type { Permissions } from '../session/authorize.js'
import type { Session } from '../session/session.js'
import type { CollectionSource } from './collections.js'
import { type Appended, type ChannelPorts, type LoggedMessage, type MaybePromise, settle } from './ports.js'
import {
  type ChannelSpec,
  channelNameOf,
  DROP,
  type HookContext,
  type LeaveContext,
  runHook,
} from './server-channel.js'
import { Subscription } from './subscription.js'

/** A client request the core handles (every frame but `ping`). */
export type ChannelRequest = Exclude<ClientFrame, { t: 'ping' }>

/** What the core needs from its host besides the ports. */
export interface CoreHost {
  /** The ports of channel `ch`, created when it has none yet. */
  open(ch: string): ChannelPorts
  /** The ports of channel `ch` if it has state, else undefined (nothing to leave or unsubscribe). */
  find(ch: string): ChannelPorts | undefined
  /** Calls {@link ChannelCore.wake} for the channel at `time` (or earlier). */
  wakeAt(ports: ChannelPorts, time: number): void
}

interface CatchUp {
  position: StreamPosition
  messages: readonly LoggedMessage[]
  reset: boolean
}

const NO_MESSAGES: readonly LoggedMessage[] = []

/** A kept message as a server-side read returns it. */
export interface HistoryMessage<M = unknown> {
  seq: number
  data: M
}

type Request<T extends ChannelRequest['t']> = Extract<ChannelRequest, { t: T }>

/**
 * The semantics of a channel, written once for every server: subscribe with replay, rewind or
 * reset; publish with sequence numbers and idempotency keys; presence join, update, leave, grace
 * period and takeover; collection snapshots and writes; channel schemas and hooks; the limits and
 * permission checks of each request. It keeps no state of its own (but the hooks and collection
 * writes in progress): it reaches every channel through its ports, and sessions through their sinks.
 */
export class ChannelCore<I = unknown> {
  /** The last hook or collection write in progress per channel. */
  readonly #queues = new Map<string, Promise<void>>()
  /** Work nobody waits for, in progress: leaves after a disconnect, grace releases, `onLeave` hooks. */
  readonly #pending = new Set<Promise<unknown>>()

  constructor(
    readonly config: ServerConfig,
    readonly collections: Record<string, CollectionSource<I>>,
    readonly host: CoreHost,
  ) {}

  /**
   * Why `ch` is not a channel (it is not a canonical serialized key), or undefined when it is. A
   * channel with state passed this check when it was created: only new ones are parsed (keeping
   * parsed keys would cost memory per channel).
   */
  invalid(ch: string): string | undefined {
    if (this.host.find(ch)) return undefined
    try {
      parseChannelKey(ch)
      return undefined
    } catch (error) {
      return (error as Error).message
    }
  }

  /**
   * Handles one request of `session` (its channel checked); answers it, or returns a promise that
   * will. A channel with a `params` schema has its params checked first (but to leave it).
   */
  handle(session: Session<I>, frame: ChannelRequest): MaybePromise<void> {
    const spec = this.#spec(frame.ch)
    const params = spec?.schemas.params
    if (!params || frame.t === 'unsub' || frame.t === 'pleave' || frame.t === 'pset') {
      return this.#route(session, frame, spec)
    }
    return settle(validateWith(params, parseChannelKey(frame.ch)[1]), (checked) => {
      if (!checked.issues) return this.#route(session, frame, spec)
      session.error(frame.id, 'invalid', describeIssues('channel params', checked.issues), checked.issues)
    })
  }

  #route(session: Session<I>, frame: ChannelRequest, spec: ChannelSpec<I> | undefined): MaybePromise<void> {
    switch (frame.t) {
      case 'sub':
        return this.#subscribe(session, frame)
      case 'unsub': {
        const subscription = session.unsubscribe(frame.ch)
        if (subscription) this.host.find(frame.ch)?.subscribers.remove(subscription)
        return session.answer(frame.id, ackFrame(frame.id))
      }
      case 'pub':
        return this.#publish(session, frame, spec)
      case 'pjoin':
        return this.#join(session, frame, spec)
      case 'pset':
        return this.#update(session, frame, spec)
      case 'pleave':
        return settle(this.#leave(session, frame.ch), () => session.answer(frame.id, ackFrame(frame.id)))
      case 'snap':
        return this.#snapshot(session, frame)
      case 'write':
        return this.#write(session, frame)
    }
  }

  /**
   * Server-side publish: checks `data` and delivers it to every subscriber, with no authorization.
   * @throws {InvalidError} when `data` is not JSON or nests too deep; {@link TooLargeError} past `maxMessageBytes`.
   */
  publish(ch: string, data: unknown): MaybePromise<StreamPosition> {
    const dataJson = this.#messageJson(data)
    return settle(this.#append(this.host.open(ch), dataJson), ({ seq, epoch }) => ({ seq, epoch }))
  }

  /**
   * Resolves once the work nobody waits for has finished: the leaves and grace releases of ended
   * sessions and the `onLeave` hooks they run (each bounded by `hookTimeoutMs`). A host waits for it
   * before closing its store, so that work does not fail on a closed store.
   */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }

  /** Server-side read: the presence members of channel `ch` as clients see them, in join order. */
  members(ch: string): MaybePromise<WireMember[]> {
    return this.host.open(ch).members.list()
  }

  /**
   * Server-side read: the newest kept messages of channel `ch` (at most `limit`), oldest first, and
   * the channel's position.
   */
  history(ch: string, limit?: number): MaybePromise<{ position: StreamPosition; messages: HistoryMessage[] }> {
    return settle(this.host.open(ch).log.read(0, limit), ({ position, messages }) => ({
      position,
      messages: messages.map(({ seq, frame }) => ({ seq, data: (JSON.parse(frame.text) as { data: unknown }).data })),
    }))
  }

  /** The JSON of message data, checked. @throws {InvalidError} {@link TooLargeError} */
  #messageJson(data: unknown): string {
    if (nestedDeeperThan(data, MAX_JSON_DEPTH)) throw new InvalidError(tooDeep('Message data'))
    const dataJson = JSON.stringify(data)
    if (dataJson === undefined) throw new InvalidError('Message data must be JSON-serializable.')
    const max = this.config.limits.maxMessageBytes
    if (exceedsBytes(dataJson, max)) throw new TooLargeError(`Message is larger than maxMessageBytes (${max}).`)
    return dataJson
  }

  /**
   * Checks what a schema or hook of the server returned: a value a client could not have sent (not
   * JSON, not an object) is the server's mistake, reported to `onError` and answered `internal`; too
   * large stays `too_large` (the client can send less).
   */
  #fromServer<T>(check: () => T): T {
    try {
      return check()
    } catch (error) {
      if (error instanceof TooLargeError) throw error
      this.config.onError(
        new TypeError(`A channel schema or hook returned an invalid value: ${(error as Error).message}`),
      )
      throw new ServerError('The server shaped an invalid payload.')
    }
  }

  /** A presence state a schema or hook returned, checked as a client's is. @throws {InvalidError} {@link TooLargeError} */
  #checkState(state: unknown): Record<string, unknown> {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new InvalidError('A presence state must be a JSON object.')
    }
    if (nestedDeeperThan(state, MAX_JSON_DEPTH)) throw new InvalidError(tooDeep('Presence state'))
    const max = this.config.limits.maxPresenceBytes
    if (exceedsBytes(JSON.stringify(state), max)) throw new TooLargeError(`Presence state larger than ${max} bytes.`)
    return state as Record<string, unknown>
  }

  /**
   * A session ended: its subscriptions end at once; its memberships too when the client said goodbye
   * (1000, 1001) or there is no grace period, else they stay `presenceGraceMs` for it to resume.
   */
  dropped(session: Session<I>, goodbye: boolean): void {
    for (const subscription of session.subscriptions()) {
      session.unsubscribe(subscription.ch)
      this.host.find(subscription.ch)?.subscribers.remove(subscription)
    }
    const present = session.presence
    if (!present) return
    if (goodbye || this.config.graceMs === 0) {
      for (const ch of [...present]) this.#background(() => this.#leave(session, ch))
      return
    }
    // The session keeps the list: a resume takes these memberships over.
    const until = Date.now() + this.config.graceMs
    for (const ch of present) {
      const ports = this.host.find(ch)
      if (ports)
        this.#background(() => settle(ports.members.release(session, until), () => this.host.wakeAt(ports, until)))
    }
  }

  /**
   * A reconnecting session takes over connection `cid` (its id, and its memberships on `channels`):
   * others see no leave and no join. A membership it does not join again within the grace period
   * is left then.
   */
  inherit(session: Session<I>, cid: string, channels: Iterable<string>): MaybePromise<void> {
    session.id = cid
    const until = Date.now() + this.config.graceMs
    const claims: Promise<unknown>[] = []
    for (const ch of channels) {
      const ports = this.host.find(ch)
      if (!ports) continue
      const claimed = settle(ports.members.claim(cid, session, until), (held) => {
        if (!held) return
        session.enter(ch)
        this.host.wakeAt(ports, until)
      })
      if (claimed instanceof Promise) claims.push(claimed)
    }
    if (claims.length > 0) return Promise.all(claims).then(() => {})
  }

  /** Time has come for a channel: members past their deadline leave. */
  wake(ports: ChannelPorts, now = Date.now()): MaybePromise<void> {
    return settle(ports.members.expire(now), ({ expired, next }) => {
      for (const { cid, uid, state, owner } of expired) {
        owner?.presence?.delete(ports.ch)
        ports.members.announce(serverFrame({ t: 'pres', ch: ports.ch, ev: 'leave', cid }), owner)
        this.#left(ports.ch, { userId: uid, connectionId: cid, identity: owner?.identity, state })
      }
      if (next !== undefined) this.host.wakeAt(ports, next)
    })
  }

  #subscribe(session: Session<I>, frame: Request<'sub'>) {
    const { id, ch } = frame
    if (!session.hasRoomFor(ch)) return this.#limitExceeded(session, id)
    return this.#allowed(session, id, ch, 'subscribe', () => {
      const ports = this.host.open(ch)
      const previous = session.subscription(ch)
      if (previous) ports.subscribers.remove(previous)
      const subscription = new Subscription(session, ch)
      session.subscribe(subscription)
      ports.subscribers.add(subscription)
      return settle(this.#catchUp(ports, frame), ({ position, messages, reset }) => {
        if (session.subscription(ch) !== subscription) return
        for (const message of messages) session.send(message.frame)
        session.answer(id, ackPositionFrame(id, position, reset))
        subscription.live(position.seq)
      })
    })
  }

  /**
   * What a subscribe sends before its `ack`: with `since`, the messages after it (the one rule: a
   * replay when the epoch matches and history still holds every message after `since.seq`, else a
   * reset); with `rewind`, up to that many of the newest kept messages; else nothing.
   */
  #catchUp(ports: ChannelPorts, { since, rewind }: Request<'sub'>): MaybePromise<CatchUp> {
    if (since) {
      return settle(ports.log.read(since.seq), ({ position, messages }) => {
        const gap = position.seq > since.seq && messages[0]?.seq !== since.seq + 1
        if (since.epoch !== position.epoch || since.seq > position.seq || gap) {
          return { position, messages: NO_MESSAGES, reset: true }
        }
        return { position, messages, reset: false }
      })
    }
    if (rewind)
      return settle(ports.log.read(0, rewind), ({ position, messages }) => ({ position, messages, reset: false }))
    return settle(ports.log.position(), (position) => ({ position, messages: NO_MESSAGES, reset: false }))
  }

  #publish(session: Session<I>, frame: Request<'pub'>, spec: ChannelSpec<I> | undefined) {
    const { id, ch, idem } = frame
    const dataJson = JSON.stringify(frame.data)
    const max = this.config.limits.maxMessageBytes
    if (exceedsBytes(dataJson, max)) return session.error(id, 'too_large', `Message larger than ${max} bytes.`)
    const schema = spec && (spec.schemas.publish ?? spec.schemas.message)
    const onPublish = spec?.hooks.onPublish
    if (!schema && !onPublish) {
      return this.#allowed(session, id, ch, 'publish', () =>
        settle(this.#append(this.host.open(ch), dataJson, idem), ({ seq }) => session.answer(id, ackSeqFrame(id, seq))),
      )
    }
    return this.#allowed(session, id, ch, 'publish', () =>
      this.#queued(ch, async () => {
        let data = schema ? await checked(schema, frame.data, 'message') : frame.data
        if (onPublish) {
          // A publish resent after a dropped connection was shaped and applied once already.
          const done = idem === undefined ? undefined : await this.host.open(ch).log.find(idem)
          if (done) return session.answer(id, ackSeqFrame(id, done.seq))
          const context = { ...this.#context(session, ch), data }
          const shaped = await this.#hook(ch, 'onPublish', () => onPublish(context))
          if (shaped === DROP) return session.answer(id, ackFrame(id))
          if (shaped !== undefined) data = shaped
        }
        const json = data === frame.data ? dataJson : this.#fromServer(() => this.#messageJson(data))
        // The channel is looked up again: its state may have expired while the hook ran.
        const { seq } = await this.#append(this.host.open(ch), json, idem)
        session.answer(id, ackSeqFrame(id, seq))
      }),
    )
  }

  /** Appends a message and broadcasts it (unless its idempotency key names one already kept). */
  #append(ports: ChannelPorts, dataJson: string, idem?: string): MaybePromise<Appended> {
    return settle(ports.log.append(dataJson, idem), (appended) => {
      if (appended.frame) ports.subscribers.broadcast(appended.seq, appended.frame)
      return appended
    })
  }

  #join(session: Session<I>, frame: Request<'pjoin'>, spec: ChannelSpec<I> | undefined) {
    const { id, ch } = frame
    const max = this.config.limits.maxPresenceBytes
    if (exceedsBytes(JSON.stringify(frame.state), max)) {
      return session.error(id, 'too_large', `Presence state larger than ${max} bytes.`)
    }
    if (!session.hasRoomFor(ch)) return this.#limitExceeded(session, id)
    const schema = spec?.schemas.state
    const onJoin = spec?.hooks.onJoin
    if (!schema && !onJoin)
      return this.#allowed(session, id, ch, 'presence', () => this.#enter(session, id, ch, frame.state))
    return this.#allowed(session, id, ch, 'presence', () =>
      this.#queued(ch, async () => {
        let state = schema ? await checkedState(schema, frame.state) : frame.state
        if (onJoin) {
          const rejoin =
            session.presence?.has(ch) === true && (await this.host.open(ch).members.state(session)) !== undefined
          const context = { ...this.#context(session, ch), state, rejoin }
          state = (await this.#hook(ch, 'onJoin', () => onJoin(context))) ?? state
        }
        await this.#enter(
          session,
          id,
          ch,
          state === frame.state ? state : this.#fromServer(() => this.#checkState(state)),
        )
      }),
    )
  }

  /** Makes `session` a member of channel `ch` with `state`, announcing it, and answers with the members. */
  #enter(session: Session<I>, id: number, ch: string, state: Record<string, unknown>): MaybePromise<void> {
    // A session that ended while its hook ran would stay a member nobody removes.
    if (!session.open) return
    const ports = this.host.open(ch)
    session.enter(ch)
    return settle(ports.members.join(session, state), () => {
      const m = { cid: session.id, uid: session.userId, state }
      ports.members.announce(serverFrame({ t: 'pres', ch, ev: 'join', m }), session)
      return settle(ports.members.list(), (members) => session.answer(id, serverFrame({ t: 'ack', id, members })))
    })
  }

  #update(session: Session<I>, { id, ch, patch }: Request<'pset'>, spec: ChannelSpec<I> | undefined) {
    const ports = session.presence?.has(ch) ? this.host.find(ch) : undefined
    const notJoined = () => session.error(id, 'invalid', 'Join presence on this channel before updating it.')
    if (!ports) return notJoined()
    return settle(ports.members.state(session), (current) => {
      if (!current) return notJoined()
      const merged = { ...current, ...patch }
      const max = this.config.limits.maxPresenceBytes
      if (exceedsBytes(JSON.stringify(merged), max)) {
        return session.error(id, 'too_large', `Presence state larger than ${max} bytes.`)
      }
      const schema = spec?.schemas.state
      const onUpdate = spec?.hooks.onUpdate
      if (!schema && !onUpdate) return this.#set(session, id, ports, merged, patch)
      return this.#queued(ch, async () => {
        let next = schema ? await checkedState(schema, merged) : merged
        if (onUpdate) {
          const context = { ...this.#context(session, ch), state: next, previous: current, patch }
          next = (await this.#hook(ch, 'onUpdate', () => onUpdate(context))) ?? next
        }
        // A state the schema or hook changed beyond the patch reaches the others whole.
        const same = next === merged || JSON.stringify(next) === JSON.stringify(merged)
        const checked = same ? next : this.#fromServer(() => this.#checkState(next))
        await this.#set(session, id, ports, checked, same ? patch : undefined)
      })
    })
  }

  /** Stores a member's new state and announces it: as its `patch`, or whole (a `join` replaces a member's state). */
  #set(
    session: Session<I>,
    id: number,
    ports: ChannelPorts,
    state: Record<string, unknown>,
    patch: Record<string, unknown> | undefined,
  ): MaybePromise<void> {
    // A member that left while its hook ran is not announced again.
    if (!session.open) return
    const { ch } = ports
    return settle(ports.members.update(session, state), () => {
      const frame = patch
        ? serverFrame({ t: 'pres', ch, ev: 'update', cid: session.id, patch })
        : serverFrame({ t: 'pres', ch, ev: 'join', m: { cid: session.id, uid: session.userId, state } })
      ports.members.announce(frame, session)
      // A reshaped state goes back to its member too, so its own view agrees.
      session.answer(id, patch ? ackFrame(id) : serverFrame({ t: 'ack', id, state }))
    })
  }

  /** Removes the session's membership of one channel, announcing it. */
  #leave(session: Session<I>, ch: string): MaybePromise<void> {
    if (!session.presence?.delete(ch)) return
    const ports = this.host.find(ch)
    if (!ports) return
    const watched = this.#spec(ch)?.hooks.onLeave !== undefined
    return settle(watched ? ports.members.state(session) : undefined, (state) =>
      settle(ports.members.leave(session), (removed) => {
        if (!removed) return
        ports.members.announce(serverFrame({ t: 'pres', ch, ev: 'leave', cid: session.id }), session)
        if (watched) {
          const { userId, id: connectionId, identity } = session
          this.#left(ch, { userId, connectionId, identity, state: state ?? {} })
        }
      }),
    )
  }

  /** A member left channel `ch`: its `onLeave` hook runs in the channel's order; nobody waits for it. */
  #left(ch: string, member: Omit<LeaveContext<I, unknown, Record<string, unknown>>, 'channel' | 'params'>) {
    const onLeave = this.#spec(ch)?.hooks.onLeave
    if (!onLeave) return
    const context = { ...this.#key(ch), ...member }
    this.#track(
      this.#queued(ch, () => this.#hook(ch, 'onLeave', () => onLeave(context))).catch((error) => {
        // A hook's own failure was reported by #hook; a typed error it threw is reported here.
        if (!(error instanceof ServerError)) this.config.onError(error)
      }),
    )
  }

  /** The schemas and hooks of channel `ch`'s name, when the `channels` option has them. */
  #spec(ch: string): ChannelSpec<I> | undefined {
    const { channels } = this.config
    if (channels.size === 0) return undefined
    const name = channelNameOf(ch)
    return name === undefined ? undefined : channels.get(name)
  }

  /** What every hook of a request receives. */
  #context(session: Session<I>, ch: string): HookContext<I, unknown> {
    return { ...this.#key(ch), userId: session.userId, connectionId: session.id, identity: session.identity }
  }

  /** The channel key and its params, as hooks receive them. */
  #key(ch: string): { channel: ChannelKey; params: unknown } {
    const channel = parseChannelKey(ch)
    return { channel, params: channel[1] }
  }

  /** Runs one hook of channel `ch` (see {@link runHook}). */
  #hook<T>(ch: string, name: string, hook: () => T | Promise<T>): Promise<T> {
    const label = `${name} of channel "${channelNameOf(ch)}"`
    return runHook(label, this.config.hookTimeoutMs, this.config.onError, hook)
  }

  /** The collection source of a channel, with its parsed key; undefined when it has none (answered). */
  #source(session: Session<I>, id: number, ch: string): [CollectionSource<I>, ChannelKey] | undefined {
    const key = parseChannelKey(ch)
    const source = Object.hasOwn(this.collections, key[0]) ? this.collections[key[0]] : undefined
    if (!source) session.error(id, 'invalid', `No collection is served on channel "${key[0]}".`)
    return source && [source, key]
  }

  #snapshot(session: Session<I>, { id, ch }: Request<'snap'>) {
    const [source, key] = this.#source(session, id, ch) ?? []
    if (!source || !key) return
    return this.#allowed(session, id, ch, 'subscribe', () =>
      // The position is read before loading: changes after it are delivered on the channel and
      // applied idempotently, so no change falls between the snapshot and the live stream.
      settle(this.host.open(ch).log.position(), async ({ seq, epoch }) => {
        try {
          const rows = await source.load(key, session.identity)
          if (!Array.isArray(rows)) throw new TypeError(`collections.${key[0]}.load must return an array of rows.`)
          session.answer(id, serverFrame({ t: 'ack', id, rows, seq, epoch }))
        } catch (error) {
          this.#rejected(session, id, error, 'The server failed to load the collection.')
        }
      }),
    )
  }

  #write(session: Session<I>, frame: Request<'write'>) {
    const { id, ch, ops, idem } = frame
    const [source, key] = this.#source(session, id, ch) ?? []
    if (!source || !key) return
    const write = source.write
    if (!write) return session.error(id, 'forbidden', `The collection "${key[0]}" is read-only.`)
    const apply = async () => {
      const done = idem === undefined ? undefined : await this.host.open(ch).log.find(idem)
      if (done) return session.answer(id, ackPositionFrame(id, done))
      const changes =
        (await write.call(source, ops, { channel: key, identity: session.identity })) ?? changesFromOps(ops)
      const dataJson = JSON.stringify({ changes })
      const max = this.config.limits.maxMessageBytes
      if (exceedsBytes(dataJson, max)) {
        throw new TooLargeError(`The resulting changes are larger than ${max} bytes.`)
      }
      // The channel is looked up again: its state may have expired while the handler ran.
      session.answer(id, ackPositionFrame(id, await this.#append(this.host.open(ch), dataJson, idem)))
    }
    return this.#allowed(session, id, ch, 'publish', () =>
      this.#queued(ch, async () => {
        try {
          // A store shared by several processes orders the channel's writes across them too.
          const ports = this.host.open(ch)
          await (ports.exclusive ? ports.exclusive(apply) : apply())
        } catch (error) {
          this.#rejected(session, id, error, 'The server failed to apply the write.')
        }
      }),
    )
  }

  /**
   * Runs a channel's hooks and collection writes one at a time, in the order they come, so the
   * order messages and changes are broadcast in is the order the hooks and the `write` handler saw
   * them (two clients' concurrent writes to one row end the same everywhere). A task that fails
   * does not hold up the next.
   */
  #queued<T>(ch: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(ch) ?? Promise.resolve()).then(task)
    const settled = run.then(
      () => {},
      () => {},
    )
    this.#queues.set(ch, settled)
    settled.then(() => {
      if (this.#queues.get(ch) === settled) this.#queues.delete(ch)
    })
    return run
  }

  /** Answers a request whose user callback threw: a RealtimeError travels as is, anything else is reported. */
  #rejected(session: Session<I>, id: number, error: unknown, message: string) {
    if (error instanceof RealtimeError) return session.error(id, error.code, error.message)
    this.config.onError(error)
    session.error(id, 'internal', message)
  }

  /** Runs `action` when the session holds `permission` on the channel, else answers forbidden. */
  #allowed(
    session: Session<I>,
    id: number,
    ch: string,
    permission: keyof Permissions,
    action: () => MaybePromise<void>,
  ): MaybePromise<void> {
    const failed = (error: unknown) => {
      this.config.onError(error)
      session.error(id, 'internal', 'The server failed to authorize this request.')
    }
    let permissions: MaybePromise<Permissions>
    try {
      permissions = session.host.permissions(session, ch)
    } catch (error) {
      return failed(error)
    }
    const run = (granted: Permissions) => {
      if (!session.open) return
      if (granted[permission] !== true) return session.error(id, 'forbidden', `Not allowed to ${permission} on ${ch}.`)
      return action()
    }
    return permissions instanceof Promise ? permissions.then(run, failed) : run(permissions)
  }

  #limitExceeded(session: Session<I>, id: number) {
    const max = this.config.limits.maxChannels
    session.error(id, 'limit_exceeded', `At most ${max} channels per connection.`)
  }

  /** Work nobody waits for (a leave after a disconnect): failures are reported. */
  #background(work: () => MaybePromise<unknown>) {
    try {
      const done = work()
      if (done instanceof Promise) this.#track(done.catch(this.config.onError))
    } catch (error) {
      this.config.onError(error)
    }
  }

  /** Keeps `work` (which does not reject) in {@link settled} until it is done. */
  #track(work: Promise<unknown>) {
    this.#pending.add(work)
    work.then(() => this.#pending.delete(work))
  }
}

/**
 * A payload checked by a channel schema: the schema's output.
 * @throws {ValidationError} with the schema's issues.
 */
async function checked<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, what: string): Promise<T> {
  const result = await validateWith(schema, value)
  if (result.issues) throw new ValidationError(describeIssues(what, result.issues), result.issues)
  return result.value
}

/** A presence state checked by the channel's `state` schema (a non-object output is refused later). */
function checkedState(schema: StandardSchemaV1<unknown, object>, state: unknown): Promise<Record<string, unknown>> {
  return checked(schema, state, 'presence state') as Promise<Record<string, unknown>>
}

/** Whether `text` takes more than `max` bytes in UTF-8 (counted only when it might). */
function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true
  return text.length * 3 > max && utf8Length(text) > max
}
