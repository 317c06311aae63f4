/**
 * The wire protocol: JSON text frames, one message per frame. Version {@link PROTOCOL_VERSION} is
 * sent by the client as the `v` query parameter of the connection URL.
 *
 * Every client request (`sub`, `unsub`, `pub`, `pjoin`, `pset`, `pleave`) carries an `id` and is
 * answered by exactly one `ack` or `err` with that id. Channels travel as serialized keys (`ch`).
 *
 * @module
 */
import type { RealtimeErrorCode } from './errors.js'
import { isErrorCode } from './errors.js'
import type { SchemaIssue } from './schema.js'

/** The protocol version this package speaks. */
export const PROTOCOL_VERSION = 1

/**
 * The query parameter (`refusal=close`) a client sends to learn why an upgrade is refused: the server
 * then accepts the socket and closes it at once with the refusal's close code (4401, 4403, 4404,
 * 4500) instead of answering with an HTTP status, which browsers cannot read. Without it, servers
 * answer refusals with the HTTP status (401, 403, 404, 500).
 */
export const REFUSAL_PARAM = 'refusal'

/** Close code: normal closure by the client (`disconnect()`). */
export const CLOSE_NORMAL = 1000
/** Close code: the client stopped answering heartbeats (or gave up on a silent server). */
export const CLOSE_HEARTBEAT_TIMEOUT = 4000
/** Close code: the client speaks a protocol version the server does not support: do not reconnect. */
export const CLOSE_PROTOCOL_ERROR = 4400
/** Close code of a refusal: no identity (`getAuthToken` returned nothing). HTTP 401. */
export const CLOSE_UNAUTHORIZED = 4401
/** Close code of a refusal: the Origin is not allowed, or (per-channel servers) the channel is denied. HTTP 403. */
export const CLOSE_FORBIDDEN = 4403
/** Close code of a refusal: no realtime endpoint at this path. HTTP 404. */
export const CLOSE_NOT_FOUND = 4404
/** Close code of a refusal: the server failed (`getAuthToken` or `authorize` threw). HTTP 500. */
export const CLOSE_SERVER_ERROR = 4500

/**
 * WebSocket close codes of the protocol. 4000-4999 is the range reserved for applications; a
 * refusal is `4000 + ` its HTTP status.
 */
export const CloseCodes = {
  /** Normal closure by the client (`disconnect()`). */
  Normal: CLOSE_NORMAL,
  /** The server is shutting down or restarting (or the page unloads): reconnect. */
  GoingAway: 1001,
  /** A frame larger than the server accepts (sent by `ws` itself, after an id-less `err`). */
  MessageTooBig: 1009,
  /** The client stopped answering heartbeats (or the client gave up on a silent server). */
  HeartbeatTimeout: CLOSE_HEARTBEAT_TIMEOUT,
  /** The connection's send buffer passed `maxBufferedBytes`: reconnect and resume. */
  SlowConsumer: 4008,
  /** A newer connection resumed this connection's identity. */
  Replaced: 4009,
  /** The connection kept sending far past its rate limit. */
  RateLimited: 4029,
  /** The client speaks a protocol version the server does not support: do not reconnect. */
  ProtocolError: CLOSE_PROTOCOL_ERROR,
  /** Refused: no identity (`getAuthToken` returned nothing). HTTP 401. */
  Unauthorized: CLOSE_UNAUTHORIZED,
  /** Refused: the Origin is not allowed, or (per-channel servers) the channel is denied. HTTP 403. */
  Forbidden: CLOSE_FORBIDDEN,
  /** Refused: no realtime endpoint at this path. HTTP 404. */
  NotFound: CLOSE_NOT_FOUND,
  /** Refused: the server failed (`getAuthToken` or `authorize` threw). HTTP 500. */
  ServerError: CLOSE_SERVER_ERROR,
} as const

/** A position in a channel's message stream: the last sequence number seen in an epoch. */
export interface StreamPosition {
  /** Sequence number of the last message (0 before the first message). */
  seq: number
  /** Identifies one unbroken history of the channel; changes when history was lost. */
  epoch: string
}

/** A presence member as it travels on the wire. */
export interface WireMember {
  /** Connection id: one per client connection (two tabs are two members). */
  cid: string
  /** User id derived from the connection's identity. */
  uid: string
  state: Record<string, unknown>
}

/** One row change a client asks a collection channel to apply. */
export type WriteOp =
  | { type: 'insert'; key: string | number; value: Record<string, unknown> }
  | { type: 'update'; key: string | number; value: Record<string, unknown> }
  | { type: 'delete'; key: string | number }

/** The most row changes one `write` request may carry. */
export const MAX_WRITE_OPS = 100

/**
 * How deeply the JSON of a message's `data`, a presence state or patch, or a written row may nest
 * objects and arrays (`[]` is one level, `[[]]` two). Deeper payloads are refused with `invalid`:
 * no runtime could serialize them safely.
 */
export const MAX_JSON_DEPTH = 64

export type ClientFrame =
  /**
   * Subscribe. `since`: resume after this position (replay or reset). `rewind` (without `since`): first
   * deliver up to this many of the newest kept messages, in order.
   */
  | { t: 'sub'; id: number; ch: string; since?: StreamPosition; rewind?: number }
  | { t: 'unsub'; id: number; ch: string }
  /** Publish. `idem`: an idempotency key; a retry with the same key is applied once and acked alike. */
  | { t: 'pub'; id: number; ch: string; data: unknown; idem?: string }
  | { t: 'pjoin'; id: number; ch: string; state: Record<string, unknown> }
  | { t: 'pset'; id: number; ch: string; patch: Record<string, unknown> }
  | { t: 'pleave'; id: number; ch: string }
  | { t: 'snap'; id: number; ch: string }
  | { t: 'write'; id: number; ch: string; ops: WriteOp[]; idem?: string }
  | { t: 'ping' }

/** Token bucket: `perSecond` sustained, up to `burst` at once. */
export interface RateLimit {
  perSecond: number
  burst: number
}

/** The limits a server announces in its hello. */
export interface ServerLimits {
  maxMessageBytes: number
  maxPresenceBytes: number
  maxChannels: number
  /** Requests per connection (absent when the server does not limit them); the client paces itself to it. */
  rateLimit?: RateLimit
}

export type ServerFrame =
  | {
      t: 'hello'
      cid: string
      uid: string
      /** Whether this connection took over an earlier one's id and presence. */
      resumed: boolean
      /** A secret to present as the `resume` query parameter on reconnect (absent: no resume). */
      resume?: string
      limits: ServerLimits
    }
  | {
      t: 'ack'
      id: number
      seq?: number
      epoch?: string
      reset?: boolean
      members?: WireMember[]
      /** A presence update's state when the server reshaped it (a schema's output, an `onUpdate` hook). */
      state?: Record<string, unknown>
      rows?: unknown[]
    }
  /** `issues`: what a channel schema found wrong (with code `invalid`). */
  | { t: 'err'; id?: number; code: RealtimeErrorCode; msg: string; issues?: SchemaIssue[] }
  | { t: 'msg'; ch: string; seq: number; data: unknown }
  | { t: 'pres'; ch: string; ev: 'join'; m: WireMember }
  | { t: 'pres'; ch: string; ev: 'update'; cid: string; patch: Record<string, unknown> }
  | { t: 'pres'; ch: string; ev: 'leave'; cid: string }
  | { t: 'pong' }

/** A frame that could not be decoded, with the request id when one could be read. */
export interface DecodeFailure {
  error: string
  id?: number
}

/** A frame as a WebSocket delivers it: text, or the bytes of a binary frame. */
export type IncomingFrame = string | ArrayBuffer | ArrayBufferView

/**
 * The longest frame (in characters of text) a server accepts: the larger payload limit plus room
 * for the envelope. Longer frames cannot be valid; they are refused and their socket closed (1009).
 */
export function maxFrameSize(limits: Pick<ServerLimits, 'maxMessageBytes' | 'maxPresenceBytes'>): number {
  return Math.max(limits.maxMessageBytes, limits.maxPresenceBytes) + 1024
}

/** The id-less `err` a server sends before closing a socket with 1009 (a frame longer than `max`). */
export function frameTooLarge(max: number): ServerFrame {
  return { t: 'err', code: 'too_large', msg: `Frame larger than the server accepts (${max}).` }
}

/**
 * Whether `value` nests objects and arrays more than `max` levels deep. Recurses at most `max + 1`
 * levels, so it is safe on values of any depth (JSON.parse builds those; JSON.stringify overflows).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (max === 0) return true
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (nestedDeeperThan(child, max - 1)) return true
  }
  return false
}

const BINARY_FRAME: DecodeFailure = {
  error: 'Binary frames are not accepted: send each frame as JSON in a text frame.',
}

const MAX_ID = 2 ** 31 - 1
const MAX_EPOCH_LENGTH = 64

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= MAX_ID
}

/** The most messages a subscribe may ask to rewind. */
export const MAX_REWIND = 1000

const IDEM_ERROR = '"idem" must be 1 to 64 characters from A-Z, a-z, 0-9, _ and -.'

function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value)
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/**
 * Decodes and validates a frame sent by a client. Never throws: anything that is not a valid
 * frame comes back as a {@link DecodeFailure} saying what is wrong. Frames are text: a binary frame
 * is refused whatever it holds (every server applies this one rule).
 */
export function decodeClientFrame(frame: IncomingFrame): ClientFrame | DecodeFailure {
  if (typeof frame !== 'string') return BINARY_FRAME
  let value: unknown
  try {
    value = JSON.parse(frame)
  } catch {
    return { error: 'Frame is not valid JSON.' }
  }
  if (!isRecord(value)) return { error: 'Frame must be a JSON object.' }
  const { t } = value
  if (t === 'ping') return { t }
  const id = value.id
  if (!isId(id)) return { error: `Frame "${String(t)}" needs an integer id between 1 and ${MAX_ID}.` }
  if (typeof value.ch !== 'string') return { error: 'Frame needs a channel key string "ch".', id }
  const ch = value.ch
  switch (t) {
    case 'sub': {
      const { since, rewind } = value
      if (rewind !== undefined) {
        if (since !== undefined) return { error: 'A subscribe has "since" or "rewind", not both.', id }
        if (!Number.isInteger(rewind) || (rewind as number) < 1 || (rewind as number) > MAX_REWIND) {
          return { error: `"rewind" must be an integer from 1 to ${MAX_REWIND}.`, id }
        }
        return { t, id, ch, rewind: rewind as number }
      }
      if (since === undefined) return { t, id, ch }
      if (
        !isRecord(since) ||
        !isSeq(since.seq) ||
        typeof since.epoch !== 'string' ||
        since.epoch.length > MAX_EPOCH_LENGTH
      ) {
        return { error: '"since" must be { seq: integer >= 0, epoch: string }.', id }
      }
      return { t, id, ch, since: { seq: since.seq, epoch: since.epoch } }
    }
    case 'unsub':
    case 'pleave':
    case 'snap':
      return { t, id, ch }
    case 'write': {
      const ops = decodeWriteOps(value.ops)
      if (typeof ops === 'string') return { error: ops, id }
      const idem = value.idem
      if (idem === undefined) return { t, id, ch, ops }
      return isIdempotencyKey(idem) ? { t, id, ch, ops, idem } : { error: IDEM_ERROR, id }
    }
    case 'pub': {
      if (!('data' in value)) return { error: 'A publish needs "data".', id }
      if (nestedDeeperThan(value.data, MAX_JSON_DEPTH)) return { error: tooDeep('Message data'), id }
      const idem = value.idem
      if (idem === undefined) return { t, id, ch, data: value.data }
      return isIdempotencyKey(idem) ? { t, id, ch, data: value.data, idem } : { error: IDEM_ERROR, id }
    }
    case 'pjoin':
      if (!isRecord(value.state)) return { error: 'Presence state must be a JSON object.', id }
      if (nestedDeeperThan(value.state, MAX_JSON_DEPTH)) return { error: tooDeep('Presence state'), id }
      return { t, id, ch, state: value.state }
    case 'pset':
      if (!isRecord(value.patch)) return { error: 'A presence patch must be a JSON object.', id }
      if (nestedDeeperThan(value.patch, MAX_JSON_DEPTH)) return { error: tooDeep('A presence patch'), id }
      return { t, id, ch, patch: value.patch }
    default:
      return { error: `Unknown frame type ${JSON.stringify(t)}.`, id }
  }
}

/** The message for a payload nested deeper than {@link MAX_JSON_DEPTH}. */
export function tooDeep(what: string): string {
  return `${what} is nested more than ${MAX_JSON_DEPTH} levels deep.`
}

function decodeWriteOps(value: unknown): WriteOp[] | string {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_WRITE_OPS) {
    return `"ops" must be an array of 1 to ${MAX_WRITE_OPS} row changes.`
  }
  const ops: WriteOp[] = []
  for (const op of value) {
    if (!isRecord(op) || !(typeof op.key === 'string' || Number.isFinite(op.key))) {
      return 'Each op needs a string or number "key".'
    }
    const key = op.key as string | number
    if (op.type === 'delete') ops.push({ type: 'delete', key })
    else if ((op.type === 'insert' || op.type === 'update') && isRecord(op.value)) {
      if (nestedDeeperThan(op.value, MAX_JSON_DEPTH)) return tooDeep('A row')
      ops.push({ type: op.type, key, value: op.value })
    } else return 'Each op is { type: "insert" | "update", key, value: object } or { type: "delete", key }.'
  }
  return ops
}

/**
 * Decodes a frame sent by a server. Returns `undefined` for anything the client does not
 * understand (the client then ignores it).
 */
export function decodeServerFrame(text: string): ServerFrame | undefined {
  let frame: Record<string, unknown>
  try {
    frame = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(frame)) return undefined
  const { t } = frame
  const valid =
    t === 'msg'
      ? typeof frame.ch === 'string' && isSeq(frame.seq)
      : t === 'ack'
        ? isId(frame.id)
        : t === 'err'
          ? isErrorCode(frame.code) &&
            typeof frame.msg === 'string' &&
            (frame.issues === undefined || Array.isArray(frame.issues))
          : t === 'pres'
            ? typeof frame.ch === 'string'
            : t === 'hello'
              ? typeof frame.cid === 'string' && isRecord(frame.limits)
              : t === 'pong'
  return valid ? (frame as ServerFrame) : undefined
}

/** Encodes a frame. Shared so both sides produce the same text. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame)
}

/**
 * Builds a `msg` frame from already-serialized parts, so a broadcast is serialized once:
 * `chJson` is `JSON.stringify(channel)`, `dataJson` is `JSON.stringify(data)`.
 */
export function encodeMessageFrame(chJson: string, seq: number, dataJson: string): string {
  return `{"t":"msg","ch":${chJson},"seq":${seq},"data":${dataJson}}`
}

/**
 * Builds a resync hint: a `msg` frame without `data` whose `seq` is past any position. A server sends
 * it when it lost a channel's continuity (a broker shared by several processes lost the history, or
 * could not fill a gap): the client sees a gap and subscribes again from its last position, so it
 * gets the missed messages or an explicit reset. Clients never deliver it.
 */
export function encodeResyncFrame(chJson: string, seq: number): string {
  return `{"t":"msg","ch":${chJson},"seq":${seq}}`
}

/** UTF-8 byte length of a string without allocating (for size limits in every runtime). */
export function utf8Length(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x80) {
      if (code < 0x800) bytes += 1
      else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        bytes += 2
        i++
      } else bytes += 2
    }
  }
  return bytes
}
