import type { PresenceState } from '../channel.js'
import { deferred } from '../deferred.js'
import { OfflineError, type RealtimeError, TooLargeError } from '../errors.js'
import { utf8Length, type WireMember } from '../protocol.js'
import { clearTimer, setTimer, type TimerHandle } from '../runtime.js'
import { type Observable, Store } from '../store.js'

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
  /** Why joining failed, when `status` is `error`. */
  error: RealtimeError | undefined
}

/** The function `enter()` returns: call it to leave; `ready` settles when the server accepted the join. */
export interface PresenceLeave {
  (): void
  readonly ready: Promise<void>
}

/** What the client does for a presence channel (implemented by the client). */
export interface PresenceDriver {
  join(ch: string, state: object): Promise<WireMember[]>
  update(ch: string, patch: object): void
  leave(ch: string): void
  /** The connection's own id, when connected. */
  connectionId(): string | undefined
  /** The connection's user id, when connected. */
  userId(): string | undefined
  maxStateBytes(): number | undefined
  /** Whether requests can be sent now (the connection is open). */
  isOpen(): boolean
  /** Makes sure a connection is being made. */
  ensureConnected(): void
}

const idle: PresenceSnapshot<any> = { status: 'idle', self: undefined, others: [], error: undefined }

/**
 * A presence channel in one client: shared by every component of the client that enters it
 * (reference counted), with throttled updates and an observable member list.
 *
 * Get one with `client.presence(key)`.
 */
export class PresenceChannel<S extends object = PresenceState> implements Observable<PresenceSnapshot<S>> {
  readonly #store = new Store<PresenceSnapshot<S>>(idle)
  readonly #members = new Map<string, PresenceMember<S>>()
  #state: S | undefined
  #refs = 0
  #joined = false
  #pendingPatch: Partial<S> | undefined
  #throttleTimer: TimerHandle | undefined
  #leaveTimer: TimerHandle | undefined
  #ready: { promise: Promise<void>; resolve: () => void; reject: (error: RealtimeError) => void } | undefined
  #joinAttempt = 0

  constructor(
    readonly ch: string,
    readonly driver: PresenceDriver,
    readonly throttleMs: number,
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
   */
  enter(initial: S): PresenceLeave {
    if (this.#state === undefined) this.#checkSize(initial) // before anything changes
    this.#refs++
    clearTimer(this.#leaveTimer)
    if (this.#state === undefined) {
      this.#state = { ...initial }
      this.#ready = deferred()
      this.#publishSnapshot('joining')
      this.driver.ensureConnected()
      this.rejoin()
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
   * `throttleMs`. The local `self` changes at once.
   *
   * @throws {TooLargeError} when the merged state exceeds the server's presence size limit.
   */
  update(patch: Partial<S>): void {
    if (this.#state === undefined) return
    const next = { ...this.#state, ...patch }
    this.#checkSize(next)
    this.#state = next
    this.#publishSnapshot()
    if (!this.#joined) return // the join in flight (or the next one) carries the whole state
    this.#pendingPatch = { ...this.#pendingPatch, ...patch }
    if (this.#throttleTimer === undefined) this.#flush()
  }

  /** (Re)sends the join: on enter and after every reconnect. */
  rejoin(): void {
    if (this.#state === undefined || !this.driver.isOpen()) return
    const attempt = ++this.#joinAttempt
    this.#joined = false
    this.#pendingPatch = undefined
    const sent = this.#state
    this.driver.join(this.ch, sent).then(
      (members) => {
        if (attempt !== this.#joinAttempt) return
        this.#joined = true
        this.#members.clear()
        for (const member of members) this.#members.set(member.cid, toMember(member))
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
        if (attempt !== this.#joinAttempt || error.code === 'offline') return // retried on reconnect
        this.fail(error)
      },
    )
  }

  /** The connection was refused (it keeps retrying): show why, keep the membership wanted. */
  report(error: RealtimeError): void {
    if (this.#state === undefined) return
    this.#publishSnapshot('joining', error)
    this.#ready?.reject(error)
  }

  /** The join failed (or the server refused the channel before it could be sent). */
  fail(error: RealtimeError): void {
    if (this.#state === undefined) return
    this.#joinAttempt++
    this.#state = undefined
    this.#publishSnapshot('error', error)
    this.#ready?.reject(error)
  }

  /** The connection dropped: keep showing the last members until the rejoin answers. */
  lost(): void {
    this.#joinAttempt++
    this.#joined = false
    if (this.#state !== undefined) this.#publishSnapshot('joining')
  }

  /** Applies a presence event from the server. */
  apply(
    event: { ev: 'join'; m: WireMember } | { ev: 'update'; cid: string; patch: object } | { ev: 'leave'; cid: string },
  ) {
    if (!this.#joined) return
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

  #flush() {
    const patch = this.#pendingPatch
    if (patch === undefined) {
      this.#throttleTimer = undefined
      return
    }
    this.#pendingPatch = undefined
    this.driver.update(this.ch, patch)
    this.#throttleTimer = setTimer(() => this.#flush(), this.throttleMs)
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
    this.#throttleTimer = undefined
    this.#members.clear()
    this.#ready?.reject(new OfflineError('Left before the server accepted the join.'))
    this.#ready = undefined
    this.#store.set(idle)
    this.driver.leave(this.ch)
  }

  #checkSize(state: object) {
    const max = this.driver.maxStateBytes()
    if (max !== undefined && utf8Length(JSON.stringify(state)) > max) {
      throw new TooLargeError(`Presence state is larger than the server's limit of ${max} bytes: share less state.`)
    }
  }

  #publishSnapshot(status = this.#store.getSnapshot().status, error?: RealtimeError) {
    const self = this.driver.connectionId()
    const others: PresenceMember<S>[] = []
    for (const member of this.#members.values()) if (member.connectionId !== self) others.push(member)
    const state = this.#state
    this.#store.set({
      status,
      self:
        state === undefined || self === undefined
          ? undefined
          : { connectionId: self, userId: this.driver.userId() ?? '', state },
      others,
      error,
    })
  }
}

function toMember<S extends object>(member: WireMember): PresenceMember<S> {
  return { connectionId: member.cid, userId: member.uid, state: member.state as S }
}
