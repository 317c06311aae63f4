import { parseUrl } from '../runtime.js'

/** What the default Origin rule needs to know about an upgrade request. */
export interface OriginTarget {
  /** The `Host` header (or the request URL's host). */
  host: string | null | undefined
  /** Whether the request arrived over TLS (`wss:`). */
  secure: boolean
  /** The `X-Forwarded-Proto` header a TLS-terminating proxy sets (`https` when the client used TLS). */
  forwardedProto?: string | null | undefined
}

/**
 * The Origin check of both presets' upgrades (protection against cross-site WebSocket hijacking).
 * No `Origin` header (not a browser): allowed. With `allowed` a list: exactly those origins; a
 * function: what it accepts. Otherwise same origin only: the Origin's host equals the request's,
 * its scheme is `http` or `https`, and a page served over plain `http` may not open a socket on a
 * secure connection (TLS, or `X-Forwarded-Proto: https` from a proxy that terminates TLS). An
 * `https` page is accepted on a plain connection, which is what a TLS-terminating proxy forwards.
 *
 * @example
 * ```ts
 * originAllowed('http://app.example', undefined, req, { host: 'app.example', secure: true }) // false
 * originAllowed('https://app.example', undefined, req, { host: 'app.example', secure: true }) // true
 * ```
 */
export function originAllowed<R>(
  origin: string | null | undefined,
  allowed: readonly string[] | ((origin: string, request: R) => boolean) | undefined,
  request: R,
  target: OriginTarget,
): boolean {
  if (origin === null || origin === undefined) return true
  if (typeof allowed === 'function') return allowed(origin, request)
  if (allowed) return allowed.includes(origin)
  const url = parseUrl(origin)
  if (!url || url.host !== target.host?.toLowerCase()) return false
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && !target.secure && !/^\s*(https|wss)\s*(,|$)/i.test(target.forwardedProto ?? '')
}
