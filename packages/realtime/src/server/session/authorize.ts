import type { ChannelKey } from '../../channel.js'
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

/** How a host answers "what may this session do on this channel" (it may throw or reject). */
export type Authorizer<I> = (session: Session<I>, ch: string, key: ChannelKey) => MaybePromise<Permissions>

const MAX_CACHED_PERMISSIONS = 256
const NONE: Permissions = Object.freeze({})

/**
 * The authorizer of a server that asks `authorize` per connection and channel, caching each answer
 * on the session (a failure is not cached: the next request asks again).
 */
export function cachedAuthorizer<I>(authorize: Authorize<I>): Authorizer<I> {
  return (session, ch, key) => {
    let cache = session.grants as Map<string, MaybePromise<Permissions>> | undefined
    const cached = cache?.get(ch)
    if (cached) return cached
    if (!cache) {
      cache = new Map()
      session.grants = cache
    } else if (cache.size >= MAX_CACHED_PERMISSIONS) {
      const oldest = cache.keys().next().value
      if (oldest !== undefined) cache.delete(oldest)
    }
    const answer = authorize(session.identity, key)
    if (answer instanceof Promise) {
      const promise = answer.then((value) => {
        const granted = value ?? NONE
        if (cache.get(ch) === promise) cache.set(ch, granted)
        return granted
      })
      promise.catch(() => cache.delete(ch))
      cache.set(ch, promise)
      return promise
    }
    const granted = answer ?? NONE
    cache.set(ch, granted)
    return granted
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
