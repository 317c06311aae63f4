import { type ChannelKey, parseChannelKey } from '../../channel.js'
import { base64UrlText } from '../../runtime.js'
import type { MaybePromise } from '../channel/ports.js'
import type { Session } from './session.js'

/** What a user may do on one channel. Missing fields mean `false`. */
export interface Permissions {
  subscribe?: boolean
  publish?: boolean
  presence?: boolean
}

/**
 * Decides what `identity` may do on `channel`. Return `null` (or nothing) to deny everything.
 * The answer is cached per connection and channel (up to 256 channels at a time, the oldest dropped
 * first) for the life of the connection; a reconnect asks again.
 */
export type Authorize<I> = (
  identity: I,
  channel: ChannelKey,
) => Permissions | null | undefined | Promise<Permissions | null | undefined>

/** How a host answers "what may this session do on channel `ch`" (it may throw or reject). */
export type Authorizer<I> = (session: Session<I>, ch: string) => MaybePromise<Permissions>

const MAX_CACHED_PERMISSIONS = 256
const NONE: Permissions = Object.freeze({})

/**
 * A session's cache of answers: one answer is kept as it is (connections on one channel need no
 * map), more in a map (at most 256, the oldest dropped first).
 */
type Grants = { ch: string; granted: MaybePromise<Permissions> } | Map<string, MaybePromise<Permissions>>

function cached(session: Session<any>, ch: string): MaybePromise<Permissions> | undefined {
  const grants = session.grants as Grants | undefined
  return grants instanceof Map ? grants.get(ch) : grants?.ch === ch ? grants.granted : undefined
}

/** Caches an answer for `ch`, or (`undefined`) forgets it. */
function cache(session: Session<any>, ch: string, granted: MaybePromise<Permissions> | undefined): void {
  const grants = session.grants as Grants | undefined
  if (grants instanceof Map) {
    if (granted === undefined) grants.delete(ch)
    else {
      const oldest = grants.keys().next()
      if (grants.size >= MAX_CACHED_PERMISSIONS && !grants.has(ch) && !oldest.done) grants.delete(oldest.value)
      grants.set(ch, granted)
    }
  } else if (grants === undefined || grants.ch === ch) {
    session.grants = granted === undefined ? undefined : { ch, granted }
  } else if (granted !== undefined) {
    session.grants = new Map([
      [grants.ch, grants.granted],
      [ch, granted],
    ])
  }
}

/**
 * The authorizer of a server that asks `authorize` per connection and channel (with the parsed
 * key), caching each answer on the session. A failure is not cached: the next request asks again.
 */
export function cachedAuthorizer<I>(authorize: Authorize<I>): Authorizer<I> {
  return (session, ch) => {
    const known = cached(session, ch)
    if (known) return known
    const answer = authorize(session.identity, parseChannelKey(ch))
    if (!(answer instanceof Promise)) {
      const granted = answer ?? NONE
      cache(session, ch, granted)
      return granted
    }
    const promise: Promise<Permissions> = answer.then(
      (value) => {
        const granted = value ?? NONE
        if (cached(session, ch) === promise) cache(session, ch, granted)
        return granted
      },
      (error) => {
        if (cached(session, ch) === promise) cache(session, ch, undefined)
        throw error
      },
    )
    cache(session, ch, promise)
    return promise
  }
}

/** A JWT: base64url JSON header and payload (both start with `{"`, `eyJ` in base64), and a signature. */
const JWT = /^eyJ[\w-]*\.(eyJ[\w-]*)\.[\w-]*$/

/**
 * The default user id of an identity, the one rule of every server when `getUserId` is not set: a
 * string or number identity is the user id itself, except a JWT, whose `userId`, `id` or `sub`
 * claim is used (a bearer token is never shown to other users); an object's `userId`, `id` or `sub`
 * field; else `'anonymous'`. So the token `alice` is the user `alice` on every preset.
 *
 * @example
 * ```ts
 * defaultUserId('alice') // 'alice'
 * defaultUserId({ sub: 'u1', role: 'admin' }) // 'u1'
 * defaultUserId('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig') // 'u1'
 * ```
 */
export function defaultUserId(identity: unknown): string {
  if (typeof identity === 'number') return String(identity)
  if (typeof identity !== 'string') return claimedUserId(identity)
  const jwt = JWT.exec(identity)
  if (!jwt) return identity
  try {
    return claimedUserId(JSON.parse(base64UrlText(jwt[1] as string) ?? 'null'))
  } catch {
    return 'anonymous'
  }
}

function claimedUserId(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    for (const field of ['userId', 'id', 'sub']) {
      const id = (value as Record<string, unknown>)[field]
      if (typeof id === 'string' || typeof id === 'number') return String(id)
    }
  }
  return 'anonymous'
}
