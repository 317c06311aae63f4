/**
 * What the Worker tells a channel's Durable Object about a connection, and where channels live in
 * URLs. Headers must be ASCII, so the identity travels URI-encoded and the channel key stays in
 * the URL path.
 *
 * @internal
 * @module
 */

/** Header carrying the authenticated user id and permissions from the Worker to the object. */
export const AUTH_HEADER = 'x-tanstack-realtime-auth'
/** Headers a client may not set: the Worker removes every header with this prefix. */
export const RESERVED_HEADER_PREFIX = 'x-tanstack-realtime-'

export const CAN_SUBSCRIBE = 1
export const CAN_PUBLISH = 2
export const CAN_PRESENCE = 4

/** A connection's identity as the object sees it. */
export interface ForwardedAuth {
  uid: string
  /** Bit set of CAN_SUBSCRIBE, CAN_PUBLISH, CAN_PRESENCE. */
  perm: number
}

/** The longest user id accepted (it is kept in each socket's 2 KB attachment). */
export const MAX_USER_ID_LENGTH = 128

export function encodeAuth(auth: ForwardedAuth): string {
  return encodeURIComponent(JSON.stringify(auth))
}

export function decodeAuth(value: string | null): ForwardedAuth | undefined {
  if (value === null) return undefined
  try {
    const auth = JSON.parse(decodeURIComponent(value)) as Partial<ForwardedAuth>
    if (typeof auth.uid !== 'string' || !Number.isInteger(auth.perm)) return undefined
    return { uid: auth.uid, perm: auth.perm as number }
  } catch {
    return undefined
  }
}

/** The URL path of a channel under `prefix`: `/_realtime/%5B%22chat%22%5D`. */
export function channelPath(prefix: string, ch: string): string {
  return `${prefix}/${encodeURIComponent(ch)}`
}

/** The serialized key in a channel URL's last path segment, or undefined when it cannot be decoded. */
export function channelFromPath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname.slice(pathname.lastIndexOf('/') + 1))
  } catch {
    return undefined
  }
}

/** A JSON error body `{ error: { code, message } }`, the shape `publish()` turns back into typed errors. */
export function errorResponse(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
}
