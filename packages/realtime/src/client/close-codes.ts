import { ForbiddenError, InvalidError, type RealtimeError, ServerError, UnauthorizedError } from '../errors.js'
import {
  CLOSE_FORBIDDEN,
  CLOSE_NOT_FOUND,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_SERVER_ERROR,
  CLOSE_UNAUTHORIZED,
} from '../protocol.js'

/**
 * The client's policy per close code: the error to report, and whether the link stops retrying
 * (`final`: retried only on demand, by `connect()` or the next request) or retries after the
 * backoff. Refusals stop (the same request would be refused again): 4400 (protocol version), 4401
 * (no identity; the link first asks `getAuthToken` once more), 4403 (Origin or channel denied).
 * 4404 and 4500 are reported and retried; every other code (a drop, a restart, a slow consumer) is
 * retried silently (undefined). The server's close reason, when it gave one, is the message.
 *
 * @param channel - the link's channel on a per-channel transport
 * @internal
 */
export function closeOutcome(
  code: number,
  reason: string,
  channel: string | undefined,
): { error: RealtimeError; final: boolean } | undefined {
  const message = reason || undefined
  switch (code) {
    case CLOSE_PROTOCOL_ERROR:
      return { error: new InvalidError(message ?? 'Unsupported protocol version.'), final: true }
    case CLOSE_UNAUTHORIZED:
      return { error: new UnauthorizedError(), final: true }
    case CLOSE_FORBIDDEN:
      return { error: new ForbiddenError(channel === undefined ? message : `Not allowed on ${channel}.`), final: true }
    case CLOSE_NOT_FOUND:
      return { error: new InvalidError('No realtime endpoint at this URL.'), final: false }
    case CLOSE_SERVER_ERROR:
      return { error: new ServerError(message), final: false }
  }
  return undefined
}
