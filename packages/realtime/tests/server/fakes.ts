/**
 * Fakes for unit tests of the channel core and the session: a host whose channels are fake ports
 * (optionally answering through promises the test releases), recorded sockets, and wake-ups on the
 * test's fake clock (vitest's fake timers).
 */
import type { StreamPosition } from '../../src/protocol.js'
import { ChannelCore, type CoreHost } from '../../src/server/channel/channel-core.js'
import type { CollectionSource } from '../../src/server/channel/collections.js'
import { MemberList } from '../../src/server/channel/member-list.js'
import type {
  Appended,
  ChannelLog,
  ChannelPorts,
  LoggedMessage,
  LogRead,
  MaybePromise,
  SubscriberSet,
} from '../../src/server/channel/ports.js'
import type { Subscription } from '../../src/server/channel/subscription.js'
import { type ChannelOptions, resolveServerOptions } from '../../src/server/config.js'
import { type Frame, messageFrame } from '../../src/server/frame.js'
import type { Authorizer, Permissions } from '../../src/server/session/authorize.js'
import { Session, type SessionHost } from '../../src/server/session/session.js'

const ALL: Permissions = { subscribe: true, publish: true, presence: true }

/** Answers now, or (when the channel is `slow`) once the test calls `release()`. */
class Gate {
  slow = false
  readonly #waiting: Array<() => void> = []

  pass<T>(value: () => T): MaybePromise<T> {
    if (!this.slow) return value()
    return new Promise<T>((resolve) => this.#waiting.push(() => resolve(value())))
  }

  /** Lets every waiting answer through (each computed now). */
  release(): void {
    for (const go of this.#waiting.splice(0)) go()
  }
}

/** A channel's log: an array, the whole history kept up to `historySize`. */
class FakeLog implements ChannelLog {
  readonly messages: Array<{ seq: number; dataJson: string; idem?: string }> = []
  seq = 0
  epoch = 'epoch-1'

  constructor(
    readonly ch: string,
    readonly gate: Gate,
    readonly historySize: number,
  ) {}

  position(): MaybePromise<StreamPosition> {
    return this.gate.pass(() => ({ seq: this.seq, epoch: this.epoch }))
  }

  append(dataJson: string, idem?: string): MaybePromise<Appended> {
    const kept = idem === undefined ? undefined : this.messages.find((message) => message.idem === idem)
    if (kept) return { seq: kept.seq, epoch: this.epoch, frame: undefined }
    const seq = ++this.seq
    this.messages.push({ seq, dataJson, ...(idem !== undefined && { idem }) })
    if (this.messages.length > this.historySize) this.messages.shift()
    return { seq, epoch: this.epoch, frame: this.#frame(seq, dataJson) }
  }

  read(after: number, limit = Number.POSITIVE_INFINITY): MaybePromise<LogRead> {
    return this.gate.pass(() => {
      const messages: LoggedMessage[] = this.messages
        .filter((message) => message.seq > after)
        .slice(-limit)
        .map(({ seq, dataJson }) => ({ seq, frame: this.#frame(seq, dataJson) }))
      return { position: { seq: this.seq, epoch: this.epoch }, messages }
    })
  }

  find(idem: string): MaybePromise<StreamPosition | undefined> {
    const kept = this.messages.find((message) => message.idem === idem)
    return kept && { seq: kept.seq, epoch: this.epoch }
  }

  #frame(seq: number, dataJson: string): Frame {
    return messageFrame(JSON.stringify(this.ch), seq, dataJson)
  }
}

class FakeSubscribers implements SubscriberSet {
  readonly set = new Set<Subscription>()
  add(subscription: Subscription): void {
    this.set.add(subscription)
  }
  remove(subscription: Subscription): void {
    this.set.delete(subscription)
  }
  broadcast(seq: number, frame: Frame): void {
    for (const subscription of this.set) subscription.deliver(seq, frame)
  }
}

/** One channel's fake ports. */
export class FakeChannel implements ChannelPorts {
  readonly gate = new Gate()
  readonly log: FakeLog
  readonly members = new MemberList()
  readonly subscribers = new FakeSubscribers()

  constructor(
    readonly ch: string,
    historySize: number,
  ) {
    this.log = new FakeLog(ch, this.gate, historySize)
  }
}

/** A connected client as the test sees it: the frames it got (parsed) and how its socket closed. */
export interface FakeClient {
  session: Session<string>
  frames: any[]
  closes: Array<{ code: number; reason: string }>
  /** Sends a frame (an object, or raw text) as the client. */
  send(frame: unknown): Promise<void> | undefined
  /** Answers (acks and errors) received, in order. */
  answers(): any[]
}

export interface FakeServerOptions extends ChannelOptions<string> {
  /** Permissions per channel (may throw or return a promise). Default: everything. */
  permissions?: (ch: string) => MaybePromise<Permissions>
  collections?: Record<string, CollectionSource<string>>
  maxChannels?: number
}

/** A server of fake channels: the real core and sessions, fake ports, wake-ups on the fake clock. */
export function fakeServer(options: FakeServerOptions = {}) {
  const reported: unknown[] = []
  const config = resolveServerOptions(
    { rateLimit: false, presenceGraceMs: 1000, onError: (error) => reported.push(error), ...options },
    options.maxChannels ?? 100,
  )
  const channels = new Map<string, FakeChannel>()
  const wakes: Array<{ ch: string; time: number }> = []
  const host: CoreHost = {
    open(ch) {
      let channel = channels.get(ch)
      if (!channel) {
        channel = new FakeChannel(ch, config.historySize)
        channels.set(ch, channel)
      }
      return channel
    },
    find: (ch) => channels.get(ch),
    wakeAt(ports, time) {
      wakes.push({ ch: ports.ch, time })
      setTimeout(() => core.wake(ports), time - Date.now())
    },
  }
  const core = new ChannelCore(config, options.collections ?? {}, host)
  const permissions = options.permissions ?? (() => ALL)
  const authorizer: Authorizer<string> = (_session, ch) => permissions(ch)
  const ended: Session<string>[] = []
  const sessionHost: SessionHost<string> = { core, permissions: authorizer, ended: (session) => ended.push(session) }

  /** A client connected as `uid` (its session, and what it receives). */
  function connect(uid: string, id?: string): FakeClient {
    const frames: any[] = []
    const closes: Array<{ code: number; reason: string }> = []
    const sink = {
      send: (frame: Frame) => frames.push(JSON.parse(frame.text)),
      close: (code: number, reason: string) => closes.push({ code, reason }),
    }
    const session = new Session<string>(sessionHost, sink, uid, uid, id)
    return {
      session,
      frames,
      closes,
      send: (frame) => session.receive(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      answers: () => frames.filter((frame) => frame.t === 'ack' || frame.t === 'err'),
    }
  }

  return {
    core,
    config,
    reported,
    ended,
    wakes,
    connect,
    /** The fake ports of a channel (created if needed). */
    channel: (ch: string) => host.open(ch) as FakeChannel,
  }
}

/** Lets pending promise callbacks run (the fake ports answer in microtasks). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}
