/**
 * Presence in Redis, with per-process liveness. Each member records the process that owns it and a
 * deadline (in a sorted set, on Redis' clock); the owning process renews its members' deadlines on
 * every heartbeat. A process that dies stops renewing: its members pass their deadline and the next
 * heartbeat (or join) of any process serving the channel removes them and announces their leave.
 *
 * A connection with presence also has a record under its resume secret (its id, user id and
 * channels), so a client that reconnects to another process can take its memberships over: the
 * new process becomes their owner and tells the old one, which lets go without announcing a leave.
 *
 * Which members a process holds, and for whom, is the channel's business (`RedisMembers`); this
 * module runs the scripts and keeps the resume records.
 *
 * @module
 */
import type { StreamPosition } from '@tanstack/realtime'
import { newEpoch, type StoredSession, type WireMember } from '@tanstack/realtime/server'
import type { RedisConnection } from './connection.js'
import { type ChannelKeys, sessionKey } from './keys.js'
import { CLAIM, JOIN, LEAVE, LIST, TICK, UPDATE } from './scripts.js'

/** Settings of presence (see `createRedisStore`). */
export interface PresenceSettings {
  keyPrefix: string
  presenceTtlMs: number
  historyTtlMs: number
  /** This process's id, recorded as the owner of its members. */
  processId: string
}

/** A connection of this process with presence, by resume secret. */
interface SessionRecord {
  cid: string
  uid: string
  channels: Set<string>
}

/** The presence scripts and the resume records of one process. */
export class RedisPresence {
  readonly #sessions = new Map<string, SessionRecord>()
  /** Connection id -> its current resume secret. */
  readonly #tokens = new Map<string, string>()

  constructor(
    readonly redis: RedisConnection,
    readonly settings: PresenceSettings,
  ) {}

  /** The first arguments of every presence script. */
  #args(keys: ChannelKeys): Array<string | number> {
    const { presenceTtlMs, processId } = this.settings
    return [this.redis.publishCommand, keys.pubsub, keys.chJson, presenceTtlMs, processId]
  }

  /** Adds or replaces a member owned by this process; returns every member in join order. */
  async join(keys: ChannelKeys, member: WireMember): Promise<WireMember[]> {
    const json = JSON.stringify(member)
    const all = await this.redis.eval(JOIN, [keys.members, keys.deadlines], [...this.#args(keys), member.cid, json])
    return parseMembers(all as string[])
  }

  /** Every member in join order (expired ones removed and announced first). */
  async list(keys: ChannelKeys): Promise<WireMember[]> {
    return parseMembers((await this.redis.eval(LIST, [keys.members, keys.deadlines], this.#args(keys))) as string[])
  }

  /** Replaces a member's state; false when this process does not own it (any more). */
  async update(keys: ChannelKeys, member: WireMember): Promise<boolean> {
    const done = await this.redis.eval(
      UPDATE,
      [keys.members, keys.deadlines],
      [...this.#args(keys), member.cid, JSON.stringify(member)],
    )
    return done === 1
  }

  /** Removes a member this process owns; false when it owns none (another process took it over). */
  async leave(keys: ChannelKeys, cid: string): Promise<boolean> {
    const done = await this.redis.eval(LEAVE, [keys.members, keys.deadlines], [...this.#args(keys), cid])
    return done === 1
  }

  /** Takes a live member over for this process, telling its previous process; undefined when it is gone. */
  async claim(keys: ChannelKeys, cid: string): Promise<WireMember | undefined> {
    const json = await this.redis.eval(CLAIM, [keys.members, keys.deadlines], [...this.#args(keys), cid])
    return typeof json === 'string' ? (JSON.parse(json) as WireMember) : undefined
  }

  /** Sends a presence frame to the other processes serving the channel (this one delivered it already). */
  announce(keys: ChannelKeys, originCid: string, frameText: string): void {
    const payload = `p${this.settings.processId} ${originCid || '-'} ${frameText}`
    this.redis.command(keys.pubsub, [this.redis.publishCommand.toUpperCase(), keys.pubsub, payload]).catch(() => {})
  }

  /**
   * One channel's heartbeat: removes (and announces) expired members, renews this process's members
   * `cids` and the history's TTL, and reads the channel's position. Returns the position, the ids
   * of members Redis lost or expired (`gone`) and of those another process took over (`other`).
   */
  async tick(
    keys: ChannelKeys,
    cids: string[],
  ): Promise<{ position: StreamPosition; gone: string[]; other: string[] }> {
    const [seq, epoch, lost] = (await this.redis.eval(
      TICK,
      [keys.members, keys.deadlines, keys.meta, keys.stream, keys.idem],
      [...this.#args(keys), this.settings.historyTtlMs, newEpoch(), ...cids],
    )) as [number, string, string[]]
    const gone: string[] = []
    const other: string[] = []
    for (let i = 0; i + 1 < lost.length; i += 2) (lost[i + 1] === 'other' ? other : gone).push(lost[i] as string)
    return { position: { seq: Number(seq), epoch: String(epoch) }, gone, other }
  }

  /** Records that connection `cid` (resume secret `token`) is present in `ch`, here and in Redis. */
  remember(ch: string, cid: string, uid: string, token: string): void {
    const previous = this.#tokens.get(cid)
    let session = this.#sessions.get(token)
    if (!session) {
      session = { cid, uid, channels: new Set() }
      this.#sessions.set(token, session)
    }
    if (previous !== undefined && previous !== token) {
      // The connection resumed with a new secret: its record moves to it.
      for (const channel of this.#sessions.get(previous)?.channels ?? []) session.channels.add(channel)
      this.#sessions.delete(previous)
      const oldKey = sessionKey(this.settings.keyPrefix, previous)
      this.#quietly(this.redis.command(oldKey, ['DEL', oldKey]))
    }
    this.#tokens.set(cid, token)
    session.channels.add(ch)
    this.#quietly(this.#write(token, session))
  }

  /** Connection `cid` is no longer present in `ch` through this process. */
  forget(ch: string, cid: string): void {
    const token = this.#tokens.get(cid)
    const session = token === undefined ? undefined : this.#sessions.get(token)
    if (!token || !session?.channels.delete(ch)) return
    const key = sessionKey(this.settings.keyPrefix, token)
    if (session.channels.size > 0) {
      this.#quietly(this.redis.command(key, ['HDEL', key, ch]))
      return
    }
    this.#sessions.delete(token)
    this.#tokens.delete(cid)
    this.#quietly(this.redis.command(key, ['DEL', key]))
  }

  /** Renews the record of every resumable connection with presence (written again if Redis lost it). */
  async renewSessions(): Promise<void> {
    const ttl = String(this.settings.presenceTtlMs)
    await Promise.all(
      [...this.#sessions].map(async ([token, session]) => {
        const key = sessionKey(this.settings.keyPrefix, token)
        if ((await this.redis.command(key, ['PEXPIRE', key, ttl])) !== 1) await this.#write(token, session)
      }),
    )
  }

  /**
   * The connection that held resume secret `token` (on any process), for a reconnecting client of
   * user `uid`: its id and presence channels. Its record is consumed: the memberships it takes over
   * are recorded under the new connection's secret.
   */
  async lookup(token: string, uid: string): Promise<StoredSession | undefined> {
    const key = sessionKey(this.settings.keyPrefix, token)
    const record = toRecord((await this.redis.command(key, ['HGETALL', key])) as string[])
    const cid = record.get('c')
    if (cid === undefined || record.get('u') !== uid) return undefined
    await this.redis.command(key, ['DEL', key])
    return { cid, uid, channels: [...record.keys()].filter((field) => field !== 'c' && field !== 'u') }
  }

  async #write(token: string, session: SessionRecord): Promise<void> {
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

/** The members of a JOIN or LIST reply (`<order> <owner> <json>` per connection id), in join order. */
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
