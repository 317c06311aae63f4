import type { SchemaIssue } from './schema.js'

/**
 * Machine-readable error codes shared by the client, the server engine and the wire protocol.
 * A server answers a failed request with one of these codes; the client turns it back into the
 * matching error class with {@link errorFromCode}. `connection_lost` never travels on the wire: the
 * client makes it when a connection drops under a request.
 */
export type RealtimeErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'invalid'
  | 'too_large'
  | 'rate_limited'
  | 'limit_exceeded'
  | 'timeout'
  | 'offline'
  | 'connection_lost'
  | 'internal'

/**
 * Root of every error thrown or reported by TanStack Realtime.
 *
 * `code` identifies the error, `retryable` says whether the same request may succeed later
 * without changing it. Three categories sit under it: {@link ConfigurationError} (a mistake in how
 * the library is called, thrown synchronously), {@link RequestError} (the server answered the
 * request with an error) and {@link ConnectionError} (the connection failed; says whether the
 * request was sent).
 *
 * @example
 * ```ts
 * try {
 *   await client.publish(['chat', { roomId }], text)
 * } catch (error) {
 *   if (error instanceof RealtimeError && error.retryable) retryLater()
 * }
 * ```
 */
export class RealtimeError extends Error {
  override name = 'RealtimeError'
  readonly code: RealtimeErrorCode
  readonly retryable: boolean

  constructor(code: RealtimeErrorCode, message: string, retryable = false) {
    super(message)
    this.code = code
    this.retryable = retryable
  }
}

/**
 * A mistake in how the library is called (an invalid option, a missing transport or provider). Thrown
 * synchronously where the call is made, never from the wire. Code `invalid`; not retryable: fix the call.
 */
export class ConfigurationError extends RealtimeError {
  override name = 'ConfigurationError'
  constructor(message: string) {
    super('invalid', message)
  }
}

/** An option passed to a constructor or factory is invalid: fix the call. */
export class InvalidOptionsError extends ConfigurationError {
  override name = 'InvalidOptionsError'
}

/**
 * The server answered a request with an error (or the client refused it locally for the same
 * reason, such as a payload over the server's announced limit). The connection itself is fine.
 */
export class RequestError extends RealtimeError {
  override name = 'RequestError'
}

/** The server's `authorize` did not grant this action on this channel, or refused the Origin. Not retryable. */
export class ForbiddenError extends RequestError {
  override name = 'ForbiddenError'
  constructor(message = 'Not allowed on this channel.') {
    super('forbidden', message)
  }
}

/** The request was malformed: a bad channel key, a bad payload or an unknown message. Not retryable. */
export class InvalidError extends RequestError {
  override name = 'InvalidError'
  constructor(message = 'Invalid request.') {
    super('invalid', message)
  }
}

/**
 * A payload (a message, a presence state) or a channel's params did not match the channel's schema.
 * `issues` says where and what, as the schema reported it. Raised by the server (answered with code
 * `invalid`) and by the client before sending. Not retryable: fix the payload.
 *
 * @example
 * ```ts
 * try {
 *   await client.publish(room, { text })
 * } catch (error) {
 *   if (error instanceof ValidationError) showProblems(error.issues) // [{ path: ['text'], message: 'Too long' }]
 * }
 * ```
 */
export class ValidationError extends InvalidError {
  override name = 'ValidationError'
  readonly issues: readonly SchemaIssue[]
  constructor(message: string, issues: readonly SchemaIssue[]) {
    super(message)
    this.issues = issues
  }
}

/** A channel key is not a valid `[name, params?]` tuple or is longer than the limit. */
export class InvalidChannelKeyError extends InvalidError {
  override name = 'InvalidChannelKeyError'
}

/** The payload (a message or a presence state) is larger than the server accepts. Not retryable. */
export class TooLargeError extends RequestError {
  override name = 'TooLargeError'
  constructor(message = 'Payload too large.') {
    super('too_large', message)
  }
}

/** The connection sent more than its rate limit allows. Retry after a short pause. */
export class RateLimitedError extends RequestError {
  override name = 'RateLimitedError'
  constructor(message = 'Rate limited: retry shortly.') {
    super('rate_limited', message, true)
  }
}

/** A per-connection limit (such as the number of channels) was reached. Not retryable as is. */
export class LimitExceededError extends RequestError {
  override name = 'LimitExceededError'
  constructor(message = 'Limit exceeded.') {
    super('limit_exceeded', message)
  }
}

/** The server failed while handling the request (for example a user callback threw). Retryable. */
export class ServerError extends RequestError {
  override name = 'ServerError'
  constructor(message = 'The server failed.') {
    super('internal', message, true)
  }
}

/**
 * The connection failed: refused at the upgrade ({@link UnauthorizedError}), not there
 * ({@link OfflineError}: the request was never sent), or lost or silent after the request was sent
 * ({@link ConnectionLostError}, {@link TimeoutError}: it may or may not have been applied).
 */
export class ConnectionError extends RealtimeError {
  override name = 'ConnectionError'
}

/**
 * The server refused the connection because it could not identify the caller (its `getAuthToken`
 * found no identity). The client asks its own `getAuthToken` again once at once (an expired token is
 * refreshed); refused again, it stops and the status becomes `refused` until `connect()` or the next
 * request. Retryable.
 */
export class UnauthorizedError extends ConnectionError {
  override name = 'UnauthorizedError'
  constructor(message = 'Not authenticated: check the auth token.') {
    super('unauthorized', message, true)
  }
}

/** The request was sent and no answer came in time. It may or may not have been applied. */
export class TimeoutError extends ConnectionError {
  override name = 'TimeoutError'
  constructor(message = 'No answer in time: the request may have been applied.') {
    super('timeout', message, true)
  }
}

/** The request was never sent: the client is disconnected, or could not reach the server in time. */
export class OfflineError extends ConnectionError {
  override name = 'OfflineError'
  constructor(message = 'Offline: the request was not sent.') {
    super('offline', message, true)
  }
}

/**
 * The request was sent, then the connection dropped before the answer: it may or may not have been
 * applied. Publishes and collection writes are not failed this way while their timeout lasts: they
 * carry an idempotency key and are sent again after the reconnect, and the server applies them once.
 */
export class ConnectionLostError extends ConnectionError {
  override name = 'ConnectionLostError'
  constructor(message = 'Connection lost: the request may have been applied.') {
    super('connection_lost', message, true)
  }
}

const byCode: Record<RealtimeErrorCode, new (message?: string) => RealtimeError> = {
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  invalid: InvalidError,
  too_large: TooLargeError,
  rate_limited: RateLimitedError,
  limit_exceeded: LimitExceededError,
  timeout: TimeoutError,
  offline: OfflineError,
  connection_lost: ConnectionLostError,
  internal: ServerError,
}

/** Whether `code` is one of the protocol's error codes. */
export function isErrorCode(code: unknown): code is RealtimeErrorCode {
  return typeof code === 'string' && Object.hasOwn(byCode, code)
}

/**
 * Builds the error class that matches a protocol error code.
 *
 * @param code - an error code received from the server (unknown codes become {@link ServerError})
 * @param message - the server's message, used when given
 * @param issues - the schema issues of an `invalid` answer: a {@link ValidationError} then
 */
export function errorFromCode(code: string, message?: string, issues?: readonly SchemaIssue[]): RealtimeError {
  if (code === 'invalid' && issues) return new ValidationError(message ?? 'Invalid payload.', issues)
  const ErrorClass = isErrorCode(code) ? byCode[code] : ServerError
  return new ErrorClass(message)
}

export { CloseCodes } from './protocol.js'
