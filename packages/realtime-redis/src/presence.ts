/**
 * Presence in Redis, with per-process liveness. Each member records the process that owns it and a
 * deadline (in a sorted set, on Redis' clock); the owning process renews its members' deadlines on
 * every heartbeat. A process that dies stops renewing: its members pass their deadline and the next
 * heartbeat (or join) of any process serving the channel removes them and announces their leave.
 *
 * A connection with presence also has a record under its resume token (its id, user id and
 * channels), so a client that reconnects to another process can take its memberships over: the
 * new process becomes their owner and tells the old one, which lets go without announcing a leave.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import type { WireMember } from '@tanstack/realtime/server'
import type { RedisConnection } from './connection.js'
import { type ChannelKeys, sessionKey } from './keys.js'
import { CLAIM, JOIN, LEAVE, TICK, UPDATE } from './scripts.js'

/** Settings of presence (see `createRedisBroker`). */
export interface PresenceSettings {
  keyPrefix: string
  presenceTtlMs: number
  /** This process's id, recorded as the owner of its members. */
  processId: string
}

/** A member this process owns. */
interface LocalMember {
  member: WireMember
  json: string
}

/** A connection of this process with presence, by resume token. */
interface Session {
  cid: string
  uid: string
  channels: Set<string>
}

/** The memberships a resumed connection took over: its id, and its state per channel. */
export interface TakenOver {
  cid: string
  presence: Map<string, Record<string, unknown>>
}

/** The members this process owns, mirrored in Redis. */
export class RedisPresence {
  /** Channel -> connection id -> member. */
  readonly #channels = new Map<string, Map<string, LocalMember>>()
  readonly #sessions = new Map<string, Session>()
  /** Connection id -> its current resume token. */
  readonly #tokens = new Map<string, string>()

  constructor(
    readonly redis: RedisConnection,
    readonly settings: PresenceSettings,
    readonly keysOf: (ch: string) => ChannelKeys,
  ) {}

  /** The first arguments of every presence script. */
  #args(keys: ChannelKeys): Array<string | number> {
    const { presenceTtlMs, processId } = this.settings
    return [this.redis.publishCommand, keys.pubsub, keys.chJson, presenceTtlMs, processId]
  }

  /** Adds or replaces a member, announces it, and returns every member in join order. */
  async join(keys: ChannelKeys, member: WireMember, token: string | undefined): Promise<WireMember[]> {
    const json = JSON.stringify(member)
    this.#local(keys.ch).set(member.cid, { member, json })
    if (token) this.#remember(keys.ch, member.cid, member.uid, token)
    const frame = `{"t":"pres","ch":${keys.chJson},"ev":"join","m":${json}}`
    const all = await this.redis.eval(
      JOIN,
      [keys.members, keys.deadlines],
      [...this.#args(keys), member.cid, json, frame],
    )
    return parseMembers(all as string[])
  }

  /** Merges `patch` into a member this process owns and announces the patch. False when it owns none. */
  async update(keys: ChannelKeys, cid: string, patch: Record<string, unknown>): Promise<boolean> {
    const local = this.#channels.get(keys.ch)?.get(cid)
    if (!local) return false
    local.member = { ...local.member, state: { ...local.member.state, ...patch } }
    local.json = JSON.stringify(local.member)
    const frame = `{"t":"pres","ch":${keys.chJson},"ev":"update","cid":${JSON.stringify(cid)},"patch":${JSON.stringify(patch)}}`
    const done = await this.redis.eval(
      UPDATE,
      [keys.members, keys.deadlines],
      [...this.#args(keys), cid, local.json, frame],
    )
    return done === 1
  }

  /** Removes a member this process owns and announces it (a member another process took over stays). */
  async leave(keys: ChannelKeys, cid: string): Promise<void> {
    this.drop(keys.ch, cid)
    const frame = `{"t":"pres","ch":${keys.chJson},"ev":"leave","cid":${JSON.stringify(cid)}}`
    await this.redis.eval(LEAVE, [keys.members, keys.deadlines], [...this.#args(keys), cid, frame])
  }

  /** Forgets a member here only (taken over by another process). Returns whether it was ours. */
  drop(ch: string, cid: string): boolean {
    const channel = this.#channels.get(ch)
    if (!channel?.delete(cid)) return false
    if (channel.size === 0) this.#channels.delete(ch)
    this.#forget(ch, cid)
    return true
  }

  /** The connection ids of this process's members of `ch` (for the heartbeat). */
  cidsOf(ch: string): string[] {
    const channel = this.#channels.get(ch)
    return channel ? [...channel.keys()] : []
  }

  /**
   * One channel's heartbeat: removes (and announces) expired members, renews this process's members
   * and the history's TTL, and reads the channel's position. Returns the position and the ids of
   * this process's members another process took over.
   */
  async tick(
    keys: ChannelKeys,
    historyTtlMs: number,
    newEpoch: string,
  ): Promise<{ position: StreamPosition; claimed: string[] }> {
    const [seq, epoch, lost] = (await this.redis.eval(
      TICK,
      [keys.members, keys.deadlines, keys.meta, keys.stream, keys.idem],
      [...this.#args(keys), historyTtlMs, newEpoch, ...this.cidsOf(keys.ch)],
    )) as [number, string, string[]]
    const claimed = lost.length > 0 ? await this.#recover(keys, lost) : []
    return { position: { seq: Number(seq), epoch: String(epoch) }, claimed }
  }

  /**
   * Handles what a heartbeat found: members that expired or were lost with Redis (`gone`) are added
   * back and announced; members another process took over (`other`) are forgotten here. Returns the
   * ids of the latter.
   */
  async #recover(keys: ChannelKeys, lost: string[]): Promise<string[]> {
    const claimed: string[] = []
    const rejoins: Array<Promise<unknown>> = []
    for (let i = 0; i + 1 < lost.length; i += 2) {
      const cid = lost[i] as string
      const local = this.#channels.get(keys.ch)?.get(cid)
      if (!local) continue
      if (lost[i + 1] === 'other') {
        this.drop(keys.ch, cid)
        claimed.push(cid)
        continue
      }
      const frame = `{"t":"pres","ch":${keys.chJson},"ev":"join","m":${local.json}}`
      rejoins.push(this.redis.eval(JOIN, [keys.members, keys.deadlines], [...this.#args(keys), cid, local.json, frame]))
    }
    await Promise.all(rejoins)
    return claimed
  }

  /** Renews the record of every resumable connection with presence (written again if Redis lost it). */
  async renewSessions(): Promise<void> {
    const ttl = String(this.settings.presenceTtlMs)
    await Promise.all(
      [...this.#sessions].map(async ([token, session]) => {
        const key = sessionKey(this.settings.keyPrefix, token)
        if ((await this.redis.command(key, ['PEXPIRE', key, ttl])) !== 1) await this.#writeSession(token, session)
      }),
    )
  }

  /**
   * Takes over the memberships of the connection that held resume token `token` (on any process),
   * for a connection of user `uid` that now holds `newToken`. Undefined when there is none (expired,
   * or another user's).
   */
  async takeOver(token: string, uid: string, newToken: string): Promise<TakenOver | undefined> {
    const key = sessionKey(this.settings.keyPrefix, token)
    const record = toRecord((await this.redis.command(key, ['HGETALL', key])) as string[])
    const cid = record.get('c')
    if (cid === undefined || record.get('u') !== uid) return undefined
    const channels = [...record.keys()].filter((field) => field !== 'c' && field !== 'u')
    const claims = await Promise.all(
      channels.map((ch) => {
        const keys = this.keysOf(ch)
        return this.redis.eval(CLAIM, [keys.members, keys.deadlines], [...this.#args(keys), cid]) as Promise<
          string | null
        >
      }),
    )
    const presence = new Map<string, Record<string, unknown>>()
    channels.forEach((ch, i) => {
      const json = claims[i]
      if (typeof json !== 'string') return
      const member = JSON.parse(json) as WireMember
      this.#local(ch).set(cid, { member, json })
      this.#remember(ch, cid, uid, newToken)
      presence.set(ch, member.state)
    })
    await this.redis.command(key, ['DEL', key])
    return { cid, presence }
  }

  /** This process's members of `ch` (created empty). */
  #local(ch: string): Map<string, LocalMember> {
    let channel = this.#channels.get(ch)
    if (!channel) {
      channel = new Map()
      this.#channels.set(ch, channel)
    }
    return channel
  }

  /** Records that connection `cid` (resume token `token`) is present in `ch`, here and in Redis. */
  #remember(ch: string, cid: string, uid: string, token: string): void {
    const previous = this.#tokens.get(cid)
    let session = this.#sessions.get(token)
    if (!session) {
      session = { cid, uid, channels: new Set() }
      this.#sessions.set(token, session)
    }
    if (previous !== undefined && previous !== token) {
      // The connection resumed here with a new token: its record moves to it.
      const old = this.#sessions.get(previous)
      for (const channel of old?.channels ?? []) session.channels.add(channel)
      this.#sessions.delete(previous)
      const oldKey = sessionKey(this.settings.keyPrefix, previous)
      this.#quietly(this.redis.command(oldKey, ['DEL', oldKey]))
    }
    this.#tokens.set(cid, token)
    session.channels.add(ch)
    this.#quietly(this.#writeSession(token, session))
  }

  /** Connection `cid` is no longer present in `ch` here. */
  #forget(ch: string, cid: string): void {
    const token = this.#tokens.get(cid)
    const session = token === undefined ? undefined : this.#sessions.get(token)
    if (!token || !session) return
    session.channels.delete(ch)
    const key = sessionKey(this.settings.keyPrefix, token)
    if (session.channels.size > 0) {
      this.#quietly(this.redis.command(key, ['HDEL', key, ch]))
      return
    }
    this.#sessions.delete(token)
    this.#tokens.delete(cid)
    this.#quietly(this.redis.command(key, ['DEL', key]))
  }

  async #writeSession(token: string, session: Session): Promise<void> {
    const key = sessionKey(this.settings.keyPrefix, token)
    const fields = ['c', session.cid, 'u', session.uid]
    for (const ch of session.channels) fields.push(ch, '1')
    // Both sent at once, in order on one connection.
    await Promise.all([
      this.redis.command(key, ['HSET', key, ...fields]),
      this.redis.command(key, ['PEXPIRE', key, String(this.settings.presenceTtlMs)]),
    ])
  }

  /** A write whose failure the next heartbeat repairs. */
  #quietly(write: Promise<unknown>): void {
    write.catch(() => {})
  }
}

/** A flat HGETALL reply as a map. */
function toRecord(reply: string[] | Record<string, string>): Map<string, string> {
  if (!Array.isArray(reply)) return new Map(Object.entries(reply))
  const record = new Map<string, string>()
  for (let i = 0; i + 1 < reply.length; i += 2) record.set(reply[i] as string, reply[i + 1] as string)
  return record
}

/** The members of a JOIN reply (`<order> <owner> <json>` per connection id), in join order. */
function parseMembers(reply: string[]): WireMember[] {
  const members: Array<{ order: number; member: WireMember }> = []
  for (const [cid, value] of toRecord(reply)) {
    if (cid === '#') continue
    const first = value.indexOf(' ')
    const second = value.indexOf(' ', first + 1)
    members.push({ order: Number(value.slice(0, first)), member: JSON.parse(value.slice(second + 1)) })
  }
  return members.sort((a, b) => a.order - b.order).map((entry) => entry.member)
}
