import {
  type ChannelKey,
  type PresenceState,
  type PresenceStateOf,
  schemasOf,
  serializeChannelKey,
} from '../channel.js'
import { deferred } from '../deferred.js'
import { ForbiddenError, OfflineError, type RealtimeError, TooLargeError, ValidationError } from '../errors.js'
import { type ServerFrame, utf8Length, type WireMember } from '../protocol.js'
import { clearTimer, logError, setTimer, type TimerHandle } from '../runtime.js'
import { describeIssues, type StandardSchemaV1, validateWith } from '../schema.js'
import { type Observable, Store } from '../store.js'
import { backoffDelay } from './backoff.js'
import type { ChannelUser, ClientCore, RealtimeClient } from './client.js'

/** One member of a presence channel: one connection (two tabs of one user are two members). */
export interface PresenceMember<S extends object = PresenceState> {
  /** Unique per connection; use it as a React key. */
  connectionId: string
  /** The user id the server derived from the connection's identity. */
  userId: string
  state: S
}

/** What a presence channel looks like right now. The same object until something changes. */
export interface PresenceSnapshot<S extends object = PresenceState> {
  /** `idle`: not joined; `joining`: waiting for the server (also while reconnecting); `joined`; `error`. */
  status: 'idle' | 'joining' | 'joined' | 'error'
  /** This connection's own member (its state is updated locally at once). */
  self: PresenceMember<S> | undefined
  /** Everyone else, in join order. */
  others: PresenceMember<S>[]
  /**
   * Why joining failed, when `status` is `error`; while `joined`, why the server refused the last
   * update (a schema or an `onUpdate` hook), until the next change.
   */
  error: RealtimeError | undefined
}

/** The function `enter()` returns: call it to leave; `ready` settles when the server accepted the join. */
export interface PresenceLeave {
  (): void
  readonly ready: Promise<void>
}

const idle: PresenceSnapshot<any> = { status: 'idle', self: undefined, others: [], error: undefined }

/**
 * A presence channel in one client: shared by every component of the client that enters it
 * (reference counted), with throttled updates and an observable member list.
 *
 * Get one with {@link getPresence}.
 */
export class PresenceChannel<S extends object = PresenceState> implements Observable<PresenceSnapshot<S>>, ChannelUser {
  readonly #store = new Store<PresenceSnapshot<S>>(idle)
  readonly #members = new Map<string, PresenceMember<S>>()
  #state: S | undefined
  #refs = 0
  #joined = false
  #pendingPatch: Partial<S> | undefined
  #throttleTimer: TimerHandle | undefined
  #leaveTimer: TimerHandle | undefined
  #retryTimer: TimerHandle | undefined
  #ready: { promise: Promise<void>; resolve: () => void; reject: (error: RealtimeError) => void } | undefined
  #joinAttempt = 0
  /** Retryable join failures in a row (the backoff's exponent). */
  #failures = 0
  /** @internal The channel's `state` schema, from the first key made by a definition with one. */
  schema: StandardSchemaV1<unknown, object> | undefined

  /** @internal Use {@link getPresence}. */
  constructor(
    readonly ch: string,
    readonly core: ClientCore,
  ) {}

  subscribe = (listener: () => void) => this.#store.subscribe(listener)
  getSnapshot = () => this.#store.getSnapshot()

  /** Whether anyone in this client has entered. */
  get active(): boolean {
    return this.#refs > 0
  }

  /**
   * Enters the channel with `initial` state (ignored when another part of this client is already
   * present: the membership is shared). Returns the function that leaves.
   *
   * @throws {TooLargeError} when the state is larger than the server's limit (once it is known);
   *   {@link ValidationError} when the channel's `state` schema refuses it (a synchronous schema: the
   *   server checks async ones).
   */
  enter(initial: S): PresenceLeave {
    if (this.#state === undefined) this.#check(initial) // before anything changes
    this.#refs++
    clearTimer(this.#leaveTimer)
    if (this.#state === undefined) {
      this.#state = { ...initial }
      this.#ready = deferred()
      this.#publishSnapshot('joining')
      this.core.attach(this)
      this.core.wake(this.ch)
      this.opened()
    }
    let left = false
    const leave = () => {
      if (left) return
      left = true
      this.#refs--
      // Deferred so React StrictMode's unmount + mount does not show others a leave and a join.
      if (this.#refs === 0) this.#leaveTimer = setTimer(() => this.#leave(), 0)
    }
    return Object.assign(leave, { ready: (this.#ready ?? deferred()).promise })
  }

  /**
   * Merges `patch` into this client's state (shallow) and sends it, throttled to one message per
   * `presenceThrottleMs`. The local `self` changes at once.
   *
   * @throws {TooLargeError} when the merged state exceeds the server's presence size limit;
   *   {@link ValidationError} when the channel's `state` schema refuses it.
   */
  update(patch: Partial<S>): void {
    if (this.#state === undefined) return
    const next = { ...this.#state, ...patch }
    this.#check(next)
    this.#state = next
    this.#publishSnapshot()
    if (!this.#joined) return // the join in flight (or the next one) carries the whole state
    this.#pendingPatch = { ...this.#pendingPatch, ...patch }
    if (this.#throttleTimer === undefined) this.#flush()
  }

  /** @internal (Re)sends the join: on enter, after every reconnect, and to retry a retryable failure. */
  opened(): void {
    clearTimer(this.#retryTimer)
    const link = this.core.linkFor(this.ch)
    if (this.#state === undefined || link.state !== 'open') return
    const attempt = ++this.#joinAttempt
    this.#joined = false
    this.#pendingPatch = undefined
    const sent = this.#state
    link.request({ t: 'pjoin', ch: this.ch, state: sent as Record<string, unknown> }).then(
      ({ members = [] }) => {
        if (attempt !== this.#joinAttempt) return
        this.#joined = true
        this.#failures = 0
        this.#members.clear()
        for (const member of members) this.#members.set(member.cid, toMember(member))
        // The server may have shaped the state (a schema's output, an onJoin hook): keep its version.
        const own = members.find((member) => member.cid === link.connectionId)
        if (own && this.#state === sent) this.#state = own.state as S
        this.#publishSnapshot('joined')
        this.#ready?.resolve()
        // Updates made while the join was in flight were not in it: send what changed since.
        const current = this.#state
        if (current !== undefined && current !== sent) {
          const patch: Partial<S> = {}
          for (const key of Object.keys(current) as Array<keyof S>) {
            if (JSON.stringify(current[key]) !== JSON.stringify(sent[key])) patch[key] = current[key]
          }
          if (Object.keys(patch).length > 0) {
            this.#pendingPatch = patch
            if (this.#throttleTimer === undefined) this.#flush()
          }
        }
      },
      (error: RealtimeError) => {
        if (attempt !== this.#joinAttempt) return
        // Dropped with its socket: joined again once the next one is open.
        if (link.state !== 'open' && (error.code === 'offline' || error.code === 'connection_lost')) return
        if (!error.retryable) return this.#fail(error)
        // A retryable failure (authorize threw, rate limited, a timeout): try again with the backoff.
        this.#report(error)
        this.#retryTimer = setTimer(() => this.opened(), backoffDelay(this.#failures++, this.core.backoff))
      },
    )
  }

  /** @internal The connection dropped: keep showing the last members until the rejoin answers. */
  lost(): void {
    this.#joinAttempt++
    this.#joined = false
    if (this.#state !== undefined) this.#publishSnapshot('joining')
  }

  /**
   * @internal The server refused the connection or the channel. A denied channel ends the
   * membership (`error`); otherwise it stays wanted and joins once the client connects again.
   */
  refused(error: RealtimeError, retrying: boolean): void {
    if (!retrying && error instanceof ForbiddenError) this.#fail(error)
    else this.#report(error)
  }

  /** @internal Applies a presence event from the server. */
  frame(event: ServerFrame): void {
    if (event.t !== 'pres' || !this.#joined) return
    if (event.ev === 'join') this.#members.set(event.m.cid, toMember(event.m))
    else if (event.ev === 'leave') {
      if (!this.#members.delete(event.cid)) return
    } else {
      const member = this.#members.get(event.cid)
      if (!member) return
      this.#members.set(event.cid, { ...member, state: { ...member.state, ...event.patch } })
    }
    this.#publishSnapshot()
  }

  /** Shows why the membership is not joined yet; it stays wanted. */
  #report(error: RealtimeError) {
    if (this.#state === undefined) return
    this.#publishSnapshot('joining', error)
    this.#ready?.reject(error)
  }

  /** The join failed for good (or the server refused the channel before it could be sent). */
  #fail(error: RealtimeError) {
    if (this.#state === undefined) return
    this.#joinAttempt++
    this.#state = undefined
    this.#publishSnapshot('error', error)
    this.#ready?.reject(error)
  }

  #flush() {
    const patch = this.#pendingPatch
    if (patch === undefined) {
      this.#throttleTimer = undefined
      return
    }
    this.#pendingPatch = undefined
    this.core
      .linkFor(this.ch)
      .request({ t: 'pset', ch: this.ch, patch: patch as Record<string, unknown> })
      .then(({ state }) => {
        // The server reshaped it (a schema, an onUpdate hook): its version, with what changed since.
        if (!state || this.#state === undefined) return
        this.#state = { ...state, ...this.#pendingPatch } as S
        this.#publishSnapshot()
      })
      .catch((error: RealtimeError) => {
        // A dropped update is not lost: the rejoin after the reconnect carries the whole state.
        if (error.code === 'offline' || error.code === 'connection_lost') return
        // Refused (a schema, an onUpdate hook): still joined, with the reason in the snapshot.
        if (this.#joined) this.#publishSnapshot('joined', error)
        else logError('presence update failed', error)
      })
    this.#throttleTimer = setTimer(() => this.#flush(), this.core.presenceThrottleMs)
  }

  #leave() {
    // Also after a failed join (no state left): the snapshot goes back to idle and the channel's
    // socket (per-channel transports) is released.
    if (this.#refs > 0) return
    this.#state = undefined
    this.#joined = false
    this.#joinAttempt++
    this.#pendingPatch = undefined
    clearTimer(this.#throttleTimer)
    clearTimer(this.#retryTimer)
    this.#throttleTimer = undefined
    this.#members.clear()
    this.#ready?.reject(new OfflineError('Left before the server accepted the join.'))
    this.#ready = undefined
    this.#store.set(idle)
    this.core.detach(this, { t: 'pleave', ch: this.ch })
  }

  /** Checks a state before it changes anything: its size, and the channel's schema when it answers at once. */
  #check(state: object) {
    const checked = this.schema && validateWith(this.schema, state)
    if (checked instanceof Promise)
      checked.catch(() => {}) // the server checks it
    else if (checked?.issues)
      throw new ValidationError(describeIssues('presence state', checked.issues), checked.issues)
    const max = this.core.limits?.maxPresenceBytes
    if (max !== undefined && utf8Length(JSON.stringify(state)) > max) {
      throw new TooLargeError(`Presence state is larger than the server's limit of ${max} bytes: share less state.`)
    }
  }

  #publishSnapshot(status = this.#store.getSnapshot().status, error?: RealtimeError) {
    const link = this.core.linkFor(this.ch)
    const self = link.connectionId
    const others: PresenceMember<S>[] = []
    for (const member of this.#members.values()) if (member.connectionId !== self) others.push(member)
    const state = this.#state
    this.#store.set({
      status,
      self:
        state === undefined || self === undefined
          ? undefined
          : { connectionId: self, userId: link.userId ?? '', state },
      others,
      error,
    })
  }
}

const registries = new WeakMap<object, Map<string, PresenceChannel<any>>>()

/**
 * The presence channel for a key in a client, shared by every caller in this client. `enter(state)`
 * joins, `update(patch)` changes this client's state, the snapshot lists `others`. A separate
 * function (not a client method), so an app that does not use presence does not ship it.
 *
 * @param client - a client from `createRealtimeClient`
 * @throws {InvalidChannelKeyError} when the key is invalid.
 * @example
 * ```ts
 * const presence = getPresence(client, editor({ documentId: 'd1' }))
 * const leave = presence.enter({ name: 'Ada', cursor: null })
 * presence.update({ cursor: { x: 10, y: 20 } })
 * ```
 */
export function getPresence<K extends ChannelKey<any, any>>(
  client: RealtimeClient,
  channel: K,
): PresenceChannel<PresenceStateOf<K>> {
  const ch = serializeChannelKey(channel)
  const channels = registries.get(client) ?? new Map<string, PresenceChannel<any>>()
  registries.set(client, channels)
  const presence = channels.get(ch) ?? new PresenceChannel(ch, client as unknown as ClientCore)
  channels.set(ch, presence)
  presence.schema ??= schemasOf(channel)?.state
  return presence
}

function toMember<S extends object>(member: WireMember): PresenceMember<S> {
  return { connectionId: member.cid, userId: member.uid, state: member.state as S }
}
