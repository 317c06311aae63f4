import { type ChannelKey, parseChannelKey } from '../../channel.js'
import { changesFromOps } from '../../collections/changes.js'
import { InvalidError, RealtimeError, TooLargeError } from '../../errors.js'
import {
  type ClientFrame,
  MAX_JSON_DEPTH,
  nestedDeeperThan,
  type StreamPosition,
  tooDeep,
  utf8Length,
} from '../../protocol.js'
import type { ServerConfig } from '../config.js'
import { ackFrame, ackPositionFrame, ackSeqFrame, serverFrame } from '../frame.js'
import type { Permissions } from '../session/authorize.js'
import type { Session } from '../session/session.js'
import type { CollectionSource } from './collections.js'
import { type Appended, type ChannelPorts, type LoggedMessage, type MaybePromise, settle } from './ports.js'
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

/**
 * The semantics of a channel, written once for every server: subscribe with replay, rewind or
 * reset; publish with sequence numbers and idempotency keys; presence join, update, leave, grace
 * period and takeover; collection snapshots and writes; the limits and permission checks of each
 * request. It keeps no state of its own (but a cache of parsed keys and the collection writes in
 * progress): it reaches every channel through its ports, and sessions through their sinks.
 */
export class ChannelCore<I = unknown> {
  /** The last collection write in progress per channel. */
  readonly #writes = new Map<string, Promise<void>>()

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

  /** Handles one request of `session` (its channel checked); answers it, or returns a promise that will. */
  handle(session: Session<I>, frame: ChannelRequest): MaybePromise<void> {
    switch (frame.t) {
      case 'sub':
        return this.#subscribe(session, frame)
      case 'unsub': {
        const subscription = session.unsubscribe(frame.ch)
        if (subscription) this.host.find(frame.ch)?.subscribers.remove(subscription)
        return session.answer(frame.id, ackFrame(frame.id))
      }
      case 'pub':
        return this.#publish(session, frame)
      case 'pjoin':
        return this.#join(session, frame)
      case 'pset':
        return this.#update(session, frame)
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
    if (nestedDeeperThan(data, MAX_JSON_DEPTH)) throw new InvalidError(tooDeep('Message data'))
    const dataJson = JSON.stringify(data)
    if (dataJson === undefined) throw new InvalidError('Message data must be JSON-serializable.')
    const max = this.config.limits.maxMessageBytes
    if (exceedsBytes(dataJson, max)) throw new TooLargeError(`Message is larger than maxMessageBytes (${max}).`)
    return settle(this.#append(this.host.open(ch), dataJson), ({ seq, epoch }) => ({ seq, epoch }))
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
      for (const { cid, owner } of expired) {
        owner?.presence?.delete(ports.ch)
        ports.members.announce(serverFrame({ t: 'pres', ch: ports.ch, ev: 'leave', cid }), owner)
      }
      if (next !== undefined) this.host.wakeAt(ports, next)
    })
  }

  #subscribe(session: Session<I>, frame: Extract<ChannelRequest, { t: 'sub' }>) {
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
  #catchUp(ports: ChannelPorts, { since, rewind }: Extract<ChannelRequest, { t: 'sub' }>): MaybePromise<CatchUp> {
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

  #publish(session: Session<I>, frame: Extract<ChannelRequest, { t: 'pub' }>) {
    const { id, ch, idem } = frame
    const dataJson = JSON.stringify(frame.data)
    const max = this.config.limits.maxMessageBytes
    if (exceedsBytes(dataJson, max)) return session.error(id, 'too_large', `Message larger than ${max} bytes.`)
    return this.#allowed(session, id, ch, 'publish', () =>
      settle(this.#append(this.host.open(ch), dataJson, idem), ({ seq }) => session.answer(id, ackSeqFrame(id, seq))),
    )
  }

  /** Appends a message and broadcasts it (unless its idempotency key names one already kept). */
  #append(ports: ChannelPorts, dataJson: string, idem?: string): MaybePromise<Appended> {
    return settle(ports.log.append(dataJson, idem), (appended) => {
      if (appended.frame) ports.subscribers.broadcast(appended.seq, appended.frame)
      return appended
    })
  }

  #join(session: Session<I>, frame: Extract<ChannelRequest, { t: 'pjoin' }>) {
    const { id, ch, state } = frame
    const max = this.config.limits.maxPresenceBytes
    if (exceedsBytes(JSON.stringify(state), max)) {
      return session.error(id, 'too_large', `Presence state larger than ${max} bytes.`)
    }
    if (!session.hasRoomFor(ch)) return this.#limitExceeded(session, id)
    return this.#allowed(session, id, ch, 'presence', () => {
      const ports = this.host.open(ch)
      session.enter(ch)
      return settle(ports.members.join(session, state), () => {
        const m = { cid: session.id, uid: session.userId, state }
        ports.members.announce(serverFrame({ t: 'pres', ch, ev: 'join', m }), session)
        return settle(ports.members.list(), (members) => session.answer(id, serverFrame({ t: 'ack', id, members })))
      })
    })
  }

  #update(session: Session<I>, { id, ch, patch }: Extract<ChannelRequest, { t: 'pset' }>) {
    const ports = session.presence?.has(ch) ? this.host.find(ch) : undefined
    const notJoined = () => session.error(id, 'invalid', 'Join presence on this channel before updating it.')
    if (!ports) return notJoined()
    return settle(ports.members.state(session), (current) => {
      if (!current) return notJoined()
      const next = { ...current, ...patch }
      const max = this.config.limits.maxPresenceBytes
      if (exceedsBytes(JSON.stringify(next), max)) {
        return session.error(id, 'too_large', `Presence state larger than ${max} bytes.`)
      }
      return settle(ports.members.update(session, next), () => {
        ports.members.announce(serverFrame({ t: 'pres', ch, ev: 'update', cid: session.id, patch }), session)
        session.answer(id, ackFrame(id))
      })
    })
  }

  /** Removes the session's membership of one channel, announcing it. */
  #leave(session: Session<I>, ch: string): MaybePromise<void> {
    if (!session.presence?.delete(ch)) return
    const ports = this.host.find(ch)
    if (!ports) return
    return settle(ports.members.leave(session), (removed) => {
      if (removed) ports.members.announce(serverFrame({ t: 'pres', ch, ev: 'leave', cid: session.id }), session)
    })
  }

  /** The collection source of a channel, with its parsed key; undefined when it has none (answered). */
  #source(session: Session<I>, id: number, ch: string): [CollectionSource<I>, ChannelKey] | undefined {
    const key = parseChannelKey(ch)
    const source = Object.hasOwn(this.collections, key[0]) ? this.collections[key[0]] : undefined
    if (!source) session.error(id, 'invalid', `No collection is served on channel "${key[0]}".`)
    return source && [source, key]
  }

  #snapshot(session: Session<I>, { id, ch }: Extract<ChannelRequest, { t: 'snap' }>) {
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

  #write(session: Session<I>, frame: Extract<ChannelRequest, { t: 'write' }>) {
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
      this.#serialized(ch, async () => {
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
   * Runs a channel's writes one at a time, so the order changes are broadcast in is the order the
   * `write` handler applied them (two clients' concurrent writes to one row end the same everywhere).
   */
  #serialized(ch: string, task: () => Promise<void>): Promise<void> {
    const run = (this.#writes.get(ch) ?? Promise.resolve()).then(task)
    this.#writes.set(ch, run)
    run.finally(() => {
      if (this.#writes.get(ch) === run) this.#writes.delete(ch)
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
      if (done instanceof Promise) done.catch(this.config.onError)
    } catch (error) {
      this.config.onError(error)
    }
  }
}

/** Whether `text` takes more than `max` bytes in UTF-8 (counted only when it might). */
function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true
  return text.length * 3 > max && utf8Length(text) > max
}
