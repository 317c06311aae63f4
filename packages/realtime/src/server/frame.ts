import type { RealtimeErrorCode } from '../errors.js'
import {
  encodeFrame,
  encodeMessageFrame,
  encodeResyncFrame,
  type ServerFrame,
  type StreamPosition,
} from '../protocol.js'
import type { SchemaIssue } from '../schema.js'

/**
 * An outgoing frame. A broadcast frame is built once and the same object handed to every
 * subscriber's sink; a host may cache its encoded form (bytes, a prebuilt WebSocket frame) in
 * `encoded` so the encoding also happens once.
 */
export class Frame {
  /** Host-owned cache of the encoded frame. */
  encoded: unknown = undefined
  constructor(readonly text: string) {}
}

/** The answer to a `ping`. */
export const PONG = new Frame('{"t":"pong"}')

/** A frame built from its object form. */
export function serverFrame(frame: ServerFrame): Frame {
  return new Frame(encodeFrame(frame))
}

/**
 * A `msg` frame built from already-serialized parts, so a message is serialized once: `chJson` is
 * `JSON.stringify(channel)`, `dataJson` is `JSON.stringify(data)`. For logs building their frames.
 */
export function messageFrame(chJson: string, seq: number, dataJson: string): Frame {
  return new Frame(encodeMessageFrame(chJson, seq, dataJson))
}

/** Past any sequence number: the `seq` of a resync hint. */
const RESYNC_SEQ = Number.MAX_SAFE_INTEGER

/**
 * A resync hint for channel `chJson` (`JSON.stringify(channel)`): a `msg` past any position, so its
 * subscriber subscribes again from its own position and gets a replay or a reset. For stores that
 * lose a channel's continuity while it has subscribers (see `encodeResyncFrame`).
 */
export function resyncFrame(chJson: string): Frame {
  return new Frame(encodeResyncFrame(chJson, RESYNC_SEQ))
}

/** The `hello` that opens a connection, built by hand around the limits' cached JSON (connecting is a hot path). */
export function helloFrame(cid: string, uid: string, resumed: boolean, resume: string, limitsJson: string): Frame {
  return new Frame(
    `{"t":"hello","cid":"${cid}","uid":${JSON.stringify(uid)},"resumed":${resumed},"resume":"${resume}",` +
      `"limits":${limitsJson}}`,
  )
}

/** An `ack` with nothing else. */
export function ackFrame(id: number): Frame {
  return new Frame(`{"t":"ack","id":${id}}`)
}

/** The `ack` of a `pub`: the message's sequence number. */
export function ackSeqFrame(id: number, seq: number): Frame {
  return new Frame(`{"t":"ack","id":${id},"seq":${seq}}`)
}

/** An `ack` with a channel position (`sub`, `write`), and `reset` when the subscriber must start over. */
export function ackPositionFrame(id: number, position: StreamPosition, reset = false): Frame {
  const tail = reset ? ',"reset":true}' : '}'
  return new Frame(`{"t":"ack","id":${id},"seq":${position.seq},"epoch":${JSON.stringify(position.epoch)}${tail}`)
}

/**
 * An `err`, answering request `id` (or none when the frame had no readable id), with the schema
 * issues of an `invalid` payload.
 */
export function errorFrame(
  id: number | undefined,
  code: RealtimeErrorCode,
  msg: string,
  issues?: SchemaIssue[],
): Frame {
  return serverFrame({ t: 'err', ...(id !== undefined && { id }), code, msg, ...(issues && { issues }) })
}
