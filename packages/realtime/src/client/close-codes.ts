import { ForbiddenError, InvalidError, type RealtimeError, ServerError, UnauthorizedError } from '../errors.js'
import { CloseCodes } from '../protocol.js'

/** What a close code means for a link: the error to report, and whether the link stops retrying. */
export interface CloseOutcome {
  readonly error: RealtimeError
  /** Stop: retry only on demand (`connect()`, the next request). Otherwise retry after the backoff. */
  readonly final: boolean
}

/**
 * The client's policy per close code. Refusals stop the retries (the same request would be refused
 * again): 4400 (protocol version), 4401 (no identity; the link asks `getAuthToken` once more first),
 * 4403 (Origin or channel denied). 4404 and 4500 are reported and retried with backoff; every other
 * code (a drop, a restart, a slow consumer) is retried silently (undefined).
 *
 * @param channel - the link's channel on a per-channel transport
 * @internal
 */
export function closeOutcome(code: number, reason: string, channel: string | undefined): CloseOutcome | undefined {
  switch (code) {
    case CloseCodes.ProtocolError:
      return { error: new InvalidError(`The server refused this client's protocol: ${reason}`), final: true }
    case CloseCodes.Unauthorized:
      return { error: new UnauthorizedError(), final: true }
    case CloseCodes.Forbidden:
      return {
        error: new ForbiddenError(
          channel === undefined ? `The server refused the connection: ${reason}` : `Not allowed on ${channel}.`,
        ),
        final: true,
      }
    case CloseCodes.NotFound:
      return {
        error: new InvalidError('No realtime endpoint at this URL: check the transport’s url and path.'),
        final: false,
      }
    case CloseCodes.ServerError:
      return { error: new ServerError(`The server failed to accept the connection: ${reason}`), final: false }
    default:
      return undefined
  }
}
