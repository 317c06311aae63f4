import type { Frame } from '../frame.js'
import type { Session } from '../session/session.js'
import type { LoggedMessage } from './ports.js'

/**
 * One session's subscription to one channel. From the moment it joins the channel's subscribers
 * until its `ack` is sent, it holds the messages it is handed (the replay or the position is being
 * read meanwhile); once live it sends each message straight to the session.
 */
export class Subscription {
  /** Messages handed over while catching up; null once live. */
  pending: LoggedMessage[] | null

  /**
   * @param session - the subscribed session
   * @param ch - the channel (serialized key)
   * @param live - whether it is live already (a subscription restored from storage)
   */
  constructor(
    readonly session: Session<any>,
    readonly ch: string,
    live = false,
  ) {
    this.pending = live ? null : []
  }

  /** A message of the channel, in sequence order. */
  deliver(seq: number, frame: Frame): void {
    if (this.pending) this.pending.push({ seq, frame })
    else this.session.send(frame)
  }

  /** The `ack` was sent with position `last`: sends what arrived meanwhile after it, and goes live. */
  live(last: number): void {
    const pending = this.pending ?? []
    this.pending = null
    for (const message of pending) {
      if (message.seq > last) {
        this.session.send(message.frame)
        last = message.seq
      }
    }
  }
}
