/**
 * Machine-readable error codes shared by the client, the server engine and the wire protocol.
 * A server answers a failed request with one of these codes; the client turns it back into the
 * matching error class with {@link errorFromCode}.
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
  | 'internal'

/**
 * Root of every error thrown or reported by TanStack Realtime.
 *
 * `code` identifies the category, `retryable` says whether the same request may succeed later
 * without changing it.
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
 * The server refused the connection because it could not identify the caller (HTTP 401 at the
 * upgrade: `getAuthToken` returned nothing). Retryable: the client keeps reconnecting and asks its
 * own `getAuthToken` again every time.
 */
export class UnauthorizedError extends RealtimeError {
  override name = 'UnauthorizedError'
  constructor(message = 'Not authenticated: the server refused the connection (HTTP 401); check the auth token.') {
    super('unauthorized', message, true)
  }
}

/** The server's `authorize` did not grant this action on this channel. Not retryable. */
export class ForbiddenError extends RealtimeError {
  override name = 'ForbiddenError'
  constructor(message = 'Not allowed: the server did not grant this action on this channel.') {
    super('forbidden', message)
  }
}

/** The request was malformed: a bad channel key, a bad payload or an unknown message. Not retryable. */
export class InvalidError extends RealtimeError {
  override name = 'InvalidError'
  constructor(message = 'Invalid request.') {
    super('invalid', message)
  }
}

/** A channel key is not a valid `[name, params?]` tuple or is longer than the limit. */
export class InvalidChannelKeyError extends InvalidError {
  override name = 'InvalidChannelKeyError'
}

/** An option passed to a constructor or factory is invalid: fix the call. */
export class InvalidOptionsError extends InvalidError {
  override name = 'InvalidOptionsError'
}

/** The payload (a message or a presence state) is larger than the server accepts. Not retryable. */
export class TooLargeError extends RealtimeError {
  override name = 'TooLargeError'
  constructor(message = 'Payload too large: send less data per message.') {
    super('too_large', message)
  }
}

/** The connection sent more than its rate limit allows. Retry after a short pause. */
export class RateLimitedError extends RealtimeError {
  override name = 'RateLimitedError'
  constructor(message = 'Rate limited: slow down and retry shortly.') {
    super('rate_limited', message, true)
  }
}

/** A per-connection limit (such as the number of channels) was reached. Not retryable as is. */
export class LimitExceededError extends RealtimeError {
  override name = 'LimitExceededError'
  constructor(message = 'Limit exceeded: unsubscribe from something first.') {
    super('limit_exceeded', message)
  }
}

/** The server did not answer in time. The request may or may not have been applied. */
export class TimeoutError extends RealtimeError {
  override name = 'TimeoutError'
  constructor(message = 'The server did not answer in time; the request may or may not have been applied.') {
    super('timeout', message, true)
  }
}

/** There is no connection: the client is disconnected, or the connection dropped before the answer. */
export class OfflineError extends RealtimeError {
  override name = 'OfflineError'
  constructor(message = 'Offline: call connect() or wait for the connection to come back, then retry.') {
    super('offline', message, true)
  }
}

/** The server failed while handling the request (for example a user callback threw). */
export class ServerError extends RealtimeError {
  override name = 'ServerError'
  constructor(message = 'The server failed to handle the request.') {
    super('internal', message, true)
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
 */
export function errorFromCode(code: string, message?: string): RealtimeError {
  const ErrorClass = isErrorCode(code) ? byCode[code] : ServerError
  return new ErrorClass(message)
}

/**
 * WebSocket close codes the server uses. 4000-4999 is the range reserved for applications.
 * The client reconnects after every code except {@link CloseCodes.ProtocolError}.
 */
export const CloseCodes = {
  /** Normal closure by the client (`disconnect()`). */
  Normal: 1000,
  /** The server is shutting down or restarting: reconnect. */
  GoingAway: 1001,
  /** A frame larger than the server's `maxMessageBytes` (sent by `ws` itself). */
  MessageTooBig: 1009,
  /** The client speaks a protocol version the server does not support: do not reconnect. */
  ProtocolError: 4400,
  /** The connection's send buffer passed `maxBufferedBytes`: reconnect and resume. */
  SlowConsumer: 4008,
  /** A newer connection resumed this connection's identity. */
  Replaced: 4009,
  /** The connection kept sending far past its rate limit. */
  RateLimited: 4029,
  /** The client stopped answering heartbeats. */
  HeartbeatTimeout: 4000,
} as const
