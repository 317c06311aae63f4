import {
  type ChannelKey,
  InvalidOptionsError,
  PROTOCOL_VERSION,
  parseChannelKey,
  REFUSAL_PARAM,
} from '@tanstack/realtime'
import { defaultUserId, originAllowed, type Permissions } from '@tanstack/realtime/server'
import type { WorkerdEnv } from './runtime-types.js'
import {
  AUTH_HEADER,
  CAN_PRESENCE,
  CAN_PUBLISH,
  CAN_SUBSCRIBE,
  encodeAuth,
  MAX_USER_ID_LENGTH,
  RESERVED_HEADER_PREFIX,
} from './wire.js'

/** What `authorize` grants on one channel; `userId` optionally names the user in presence. */
export interface WorkerdPermissions extends Permissions {
  /** The user id shown to others in presence (overrides `getUserId`). */
  userId?: string
}

type MaybePromise<T> = T | Promise<T>

/** Options of {@link createWorkerdHandler}. */
export interface WorkerdHandlerOptions<Env extends WorkerdEnv, T = string> {
  /**
   * Reads the caller's token (or session, or claims) from the upgrade request: a query parameter
   * (`workerdTransport` sends its `getAuthToken()` as `token`), a cookie or a header. Return `null`
   * or `undefined` to refuse the connection with HTTP 401.
   */
  getAuthToken(request: Request, env: Env): MaybePromise<T | null | undefined>
  /**
   * Per-channel permissions for a token: `{ subscribe, publish, presence }` (missing fields mean
   * `false`), enforced by the channel's object for every request. Return `null` or `undefined` to
   * refuse the connection with HTTP 403. Called once per connection; a reconnect asks again.
   * Default: everything allowed.
   */
  authorize?(token: T, channel: ChannelKey, env: Env): MaybePromise<WorkerdPermissions | null | undefined>
  /**
   * The user id shown in presence (at most 128 characters). Default: `userId` from `authorize`,
   * else the rule of every server (`defaultUserId` of `@tanstack/realtime/server`): a string token
   * is the user id itself, except a JWT, whose `userId`, `id` or `sub` claim is used; an object's
   * `userId`, `id` or `sub` field; else `'anonymous'`. Return it from `authorize` (or set this)
   * when your tokens are opaque secrets: they are shown to other users as they are.
   */
  getUserId?(token: T): string
  /** URL path prefix of channel sockets: `<path>/<encoded channel key>`. Default `/_realtime`. */
  path?: string
  /**
   * Origins allowed to connect (protection against cross-site WebSocket hijacking): a list such as
   * `['https://app.example.com']`, or a function. Default: same origin only (same host, and an
   * `http:` page may not connect over TLS). Requests without an `Origin` header (not from a
   * browser) are allowed.
   */
  allowedOrigins?: readonly string[] | ((origin: string, request: Request) => boolean)
  /** Called with errors thrown by `getAuthToken` and `authorize`. Default: `console.error`. */
  onError?(error: unknown): void
}

/** What {@link createWorkerdHandler} returns: a Worker `fetch` handler (bound, so it can be passed around). */
export interface WorkerdHandler<Env extends WorkerdEnv> {
  /**
   * Serves `<path>/<encoded channel key>` WebSocket upgrades: 404 for other paths, 400 for a bad
   * key, 426 without an upgrade, 403 for a disallowed Origin or a denied channel, 401 without a
   * token, 500 when `getAuthToken` or `authorize` throws. A client that sends `refusal=close` (the
   * client core does) gets the socket accepted and closed at once with 4404, 4403, 4401 or 4500
   * instead, which browsers can read. Accepted sockets reach the channel's Durable Object.
   */
  fetch(request: Request, env: Env, ctx?: unknown): Promise<Response>
}

/**
 * Creates the Worker's request handler: it authenticates each WebSocket upgrade, authorizes it for
 * its channel, and routes it to the channel's Durable Object (`idFromName` of the serialized key)
 * with the user id and permissions. The object enforces them for every request on the socket.
 *
 * @throws {InvalidOptionsError} when `getAuthToken` is missing or `path` does not start with `/`.
 * @example
 * ```ts
 * const handler = createWorkerdHandler<Env>({
 *   getAuthToken: (request) => new URL(request.url).searchParams.get('token'),
 *   async authorize(token, channel) {
 *     const userId = await verifyJwt(token)
 *     if (!userId) return null
 *     return { subscribe: true, publish: false, presence: true, userId }
 *   },
 * })
 * export default { fetch: handler.fetch }
 * ```
 */
export function createWorkerdHandler<Env extends WorkerdEnv, T = string>(
  options: WorkerdHandlerOptions<Env, T>,
): WorkerdHandler<Env> {
  if (typeof options?.getAuthToken !== 'function') {
    throw new InvalidOptionsError('createWorkerdHandler needs getAuthToken(request) returning the caller token.')
  }
  const path = (options.path ?? '/_realtime').replace(/\/+$/, '')
  if (!path.startsWith('/')) {
    throw new InvalidOptionsError(`path must start with "/"; got ${JSON.stringify(options.path)}.`)
  }
  const { getAuthToken, allowedOrigins } = options
  const authorize = options.authorize ?? (() => ({ subscribe: true, publish: true, presence: true }))
  const onError = options.onError ?? ((error: unknown) => console.error('[tanstack-realtime]', error))
  const getUserId = options.getUserId ?? defaultUserId
  const userIdOf = (token: T, granted: WorkerdPermissions): string =>
    typeof granted.userId === 'string' ? granted.userId : getUserId(token)

  async function fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const upgrade = request.headers.get('Upgrade')?.toLowerCase() === 'websocket'
    // A client that sends refusal=close (the client core does) learns why it is refused from a close
    // code (4000 + status): browsers cannot read the HTTP status of a refused upgrade.
    const refuse = (status: 401 | 403 | 404 | 500, message: string) =>
      upgrade && url.searchParams.get(REFUSAL_PARAM) === 'close'
        ? refuseSocket(4000 + status, message)
        : text(status, message)
    const encoded = url.pathname.startsWith(`${path}/`) ? url.pathname.slice(path.length + 1) : ''
    if (encoded === '' || encoded.includes('/')) {
      return refuse(404, `No realtime endpoint at this path (expected ${path}/<encoded channel key>).`)
    }
    let ch: string
    let key: ChannelKey
    try {
      ch = decodeURIComponent(encoded)
      key = parseChannelKey(ch)
    } catch (error) {
      return text(400, `Bad channel key: ${(error as Error).message}`)
    }
    if (!upgrade) {
      return text(426, 'Expected a WebSocket upgrade.', { Upgrade: 'websocket' })
    }
    const originOk = originAllowed(request.headers.get('Origin'), allowedOrigins, request, {
      host: url.host,
      secure: url.protocol === 'https:',
      forwardedProto: request.headers.get('X-Forwarded-Proto'),
    })
    if (!originOk) return refuse(403, 'Origin not allowed: add it to allowedOrigins.')
    let token: T | null | undefined
    try {
      token = await getAuthToken(request, env)
    } catch (error) {
      onError(error)
      return refuse(500, 'getAuthToken failed.')
    }
    if (token === null || token === undefined) return refuse(401, 'Not authenticated.')
    let granted: WorkerdPermissions | null | undefined
    let uid: string
    try {
      granted = await authorize(token, key, env)
      if (granted === null || granted === undefined) return refuse(403, 'Not allowed on this channel.')
      uid = userIdOf(token, granted)
      if (typeof uid !== 'string' || uid.length > MAX_USER_ID_LENGTH) {
        throw new InvalidOptionsError(`A user id must be a string of at most ${MAX_USER_ID_LENGTH} characters.`)
      }
    } catch (error) {
      onError(error)
      return refuse(500, 'authorize failed.')
    }
    const version = url.searchParams.get('v')
    if (version !== null && version !== String(PROTOCOL_VERSION)) {
      return refuseSocket(4400, `unsupported protocol version ${version}; this server speaks ${PROTOCOL_VERSION}`)
    }
    const perm =
      (granted.subscribe === true ? CAN_SUBSCRIBE : 0) |
      (granted.publish === true ? CAN_PUBLISH : 0) |
      (granted.presence === true ? CAN_PRESENCE : 0)
    // The object trusts this header: drop whatever the client sent under the reserved prefix.
    const headers = new Headers()
    for (const [name, value] of request.headers) {
      if (!name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) headers.set(name, value)
    }
    headers.set(AUTH_HEADER, encodeAuth({ uid, perm }))
    // Only what the object needs travels on: the token stays in the Worker.
    const target = new URL(url.origin + url.pathname)
    for (const name of ['v', 'resume']) {
      const value = url.searchParams.get(name)
      if (value !== null) target.searchParams.set(name, value)
    }
    const namespace = env.REALTIME_CHANNEL
    const stub = namespace.get(namespace.idFromName(ch))
    return stub.fetch(new Request(target.toString(), { method: request.method, headers }))
  }

  return { fetch }
}

function text(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } })
}

/** Accepts the socket only to close it with `code`: browsers can read close codes, not HTTP statuses. */
function refuseSocket(code: number, reason: string): Response {
  const pair = new WebSocketPair()
  const server = pair[1]
  server.accept()
  server.close(code, reason.slice(0, 120)) // a close reason has at most 123 bytes
  return new Response(null, { status: 101, webSocket: pair[0] })
}
