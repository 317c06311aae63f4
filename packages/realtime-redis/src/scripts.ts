/**
 * The Lua scripts the store runs in Redis, one round trip each. Modelled on Centrifugo's Redis
 * engine: a publish increments the channel's sequence number, appends to its capped, expiring
 * stream and publishes the ready-made frame, atomically. Presence scripts read the clock with
 * `TIME` (Redis' clock, not the processes'), so expiry does not depend on clock skew between hosts.
 *
 * Pub/sub payloads (one per event, on the channel's pub/sub channel):
 * - `m<seq> <epoch> <msg frame>`: a message;
 * - `p<process> <cid> <pres frame>`: a presence event caused by connection `cid`, published by a process
 *   (which delivered it to its own members already) or by a script (`-`: a member whose process died);
 * - `c<cid> <process>`: connection `cid`'s membership was taken over by a connection on `process`.
 *
 * @module
 */
import { createHash } from 'node:crypto'

/** A script with its SHA-1, for EVALSHA. */
export interface Script {
  readonly source: string
  readonly sha: string
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * Shared head of the scripts that read a channel's log. `position(meta, stream, idems, fresh)`
 * returns the channel's epoch and last sequence number, and whether it started one: a channel
 * without an epoch (new, or its history expired or lost) starts epoch `fresh` at 0, its stream and
 * idempotency keys cleared.
 */
const POSITION = `
local function position(meta, stream, idems, fresh)
  local m = redis.call('HMGET', meta, 'e', 's')
  if m[1] then return m[1], tonumber(m[2] or '0') or 0, false end
  redis.call('DEL', stream, idems)
  redis.call('HSET', meta, 'e', fresh)
  return fresh, 0, true
end
`

/**
 * Appends a message. KEYS: meta, stream, idem. ARGV: chJson, dataJson, idem key ('' for none),
 * historySize, ttlMs, a new epoch (used when the channel has none), publish command, pub/sub channel.
 * Returns `{ seq, epoch, duplicate }`: with an idempotency key a kept message carries, nothing is
 * appended and that message's seq comes back with duplicate = 1.
 */
export const APPEND = script(`${POSITION}
local meta, stream, idems = KEYS[1], KEYS[2], KEYS[3]
local idem, size, ttl = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local epoch = position(meta, stream, idems, ARGV[6])
if idem ~= '' then
  local kept = redis.call('HGET', idems, idem)
  if kept then return {tonumber(kept), epoch, 1} end
end
local seq = redis.call('HINCRBY', meta, 's', 1)
redis.call('PEXPIRE', meta, ttl)
if size > 0 then
  local excess = redis.call('XLEN', stream) - size + 1
  if excess > 0 then
    for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', excess)) do
      redis.call('XDEL', stream, entry[1])
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'i' then redis.call('HDEL', idems, fields[i + 1]) end
      end
    end
  end
  if idem ~= '' then
    redis.call('XADD', stream, seq, 'd', ARGV[2], 'i', idem)
    redis.call('HSET', idems, idem, seq)
    redis.call('PEXPIRE', idems, ttl)
  else
    redis.call('XADD', stream, seq, 'd', ARGV[2])
  end
  redis.call('PEXPIRE', stream, ttl)
end
redis.call(ARGV[7], ARGV[8], 'm' .. seq .. ' ' .. epoch .. ' {"t":"msg","ch":' .. ARGV[1] .. ',"seq":' .. seq .. ',"data":' .. ARGV[2] .. '}')
return {seq, epoch, 0}
`)

/**
 * Reads the position and kept messages. KEYS: meta, stream, idem. ARGV: mode (`after`: the messages
 * after seq ARGV[2], at most the ARGV[5] newest when it is not 0; `find`: the message with
 * idempotency key ARGV[2]; `none`), ARGV[2], a new epoch (started when the channel has none), ttlMs,
 * limit. Returns `{ seq, epoch, entries }`, entries as XRANGE returns them (newest first with a limit).
 */
export const READ = script(`${POSITION}
local meta, stream, idems = KEYS[1], KEYS[2], KEYS[3]
local epoch, seq, started = position(meta, stream, idems, ARGV[3])
if started then redis.call('PEXPIRE', meta, ARGV[4]) end
local entries = {}
local mode = ARGV[1]
if mode == 'after' then
  local after = tonumber(ARGV[2])
  if after < seq then
    if ARGV[5] == '0' then entries = redis.call('XRANGE', stream, after + 1, '+')
    else entries = redis.call('XREVRANGE', stream, '+', after + 1, 'COUNT', ARGV[5]) end
  end
elseif mode == 'find' then
  local kept = redis.call('HGET', idems, ARGV[2])
  if kept then entries = redis.call('XRANGE', stream, kept, kept) end
end
return {seq, epoch, entries}
`)

/**
 * Shared head of the presence scripts. KEYS: members, deadlines. ARGV: publish command, pub/sub
 * channel, chJson, ttlMs, this process's id. `sweep()` removes the members whose deadline passed
 * and publishes a leave for each.
 */
const PRESENCE = `
local members, deadlines = KEYS[1], KEYS[2]
local publish, pubsub, chJson, ttl, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function sweep()
  local expired = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now)
  for _, cid in ipairs(expired) do
    redis.call('HDEL', members, cid)
    local leave = '{"t":"pres","ch":' .. chJson .. ',"ev":"leave","cid":' .. cjson.encode(cid) .. '}'
    redis.call(publish, pubsub, 'p- ' .. cid .. ' ' .. leave)
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', deadlines, '-inf', now) end
end
local function keep()
  redis.call('PEXPIRE', members, ttl * 2)
  redis.call('PEXPIRE', deadlines, ttl * 2)
end
`

/**
 * Adds or replaces a member owned by this process (its join order kept). ARGV[6..7]: cid, member
 * JSON. Returns every member as HGETALL does. (The process announces the join itself.)
 */
export const JOIN = script(`${PRESENCE}
local cid = ARGV[6]
sweep()
local old = redis.call('HGET', members, cid)
local order = old and string.match(old, '^(%d+)') or redis.call('HINCRBY', members, '#', 1)
redis.call('HSET', members, cid, order .. ' ' .. owner .. ' ' .. ARGV[7])
redis.call('ZADD', deadlines, now + ttl, cid)
keep()
return redis.call('HGETALL', members)
`)

/** Every member (expired ones removed first), as HGETALL returns them. */
export const LIST = script(`${PRESENCE}
sweep()
return redis.call('HGETALL', members)
`)

/** Replaces the state of a member this process owns. ARGV[6..7]: cid, member JSON. Returns 1, or 0 when not ours. */
export const UPDATE = script(`${PRESENCE}
local cid = ARGV[6]
local old = redis.call('HGET', members, cid)
if not old then return 0 end
local order, holder = string.match(old, '^(%d+) (%S+)')
if holder ~= owner then return 0 end
redis.call('HSET', members, cid, order .. ' ' .. owner .. ' ' .. ARGV[7])
return 1
`)

/** Removes a member this process owns. ARGV[6]: cid. Returns 1, or 0 when not ours. */
export const LEAVE = script(`${PRESENCE}
local cid = ARGV[6]
local old = redis.call('HGET', members, cid)
if not old or string.match(old, '^%d+ (%S+)') ~= owner then return 0 end
redis.call('HDEL', members, cid)
redis.call('ZREM', deadlines, cid)
return 1
`)

/**
 * Takes over a live member for this process (a connection resumed here) and tells its previous
 * process. ARGV[6]: cid. Returns the member JSON, or nil when it is gone (or expired).
 */
export const CLAIM = script(`${PRESENCE}
local cid = ARGV[6]
sweep()
local old = redis.call('HGET', members, cid)
if not old then return false end
local order, json = string.match(old, '^(%d+) %S+ (.*)$')
redis.call('HSET', members, cid, order .. ' ' .. owner .. ' ' .. json)
redis.call('ZADD', deadlines, now + ttl, cid)
keep()
redis.call(publish, pubsub, 'c' .. cid .. ' ' .. owner)
return json
`)

/**
 * A process's heartbeat for one channel it serves. KEYS: members, deadlines, meta, stream, idem.
 * ARGV[6..]: history ttlMs, a new epoch, then the connection ids of this process's members.
 * Sweeps expired members, renews this process's members and the history's TTL, and returns
 * `{ seq, epoch, lost }`: `lost` pairs each given cid that is not ours any more with `gone` (expired or
 * lost with Redis) or `other` (taken over by another process).
 */
export const TICK = script(`${PRESENCE}${POSITION}
local meta, stream, idems = KEYS[3], KEYS[4], KEYS[5]
sweep()
local lost = {}
for i = 8, #ARGV do
  local cid = ARGV[i]
  local value = redis.call('HGET', members, cid)
  if value and string.match(value, '^%d+ (%S+)') == owner then
    redis.call('ZADD', deadlines, now + ttl, cid)
  else
    lost[#lost + 1] = cid
    lost[#lost + 1] = value and 'other' or 'gone'
  end
end
if #ARGV >= 8 then keep() end
local epoch, seq = position(meta, stream, idems, ARGV[7])
redis.call('PEXPIRE', meta, ARGV[6])
redis.call('PEXPIRE', stream, ARGV[6])
redis.call('PEXPIRE', idems, ARGV[6])
return {seq, epoch, lost}
`)

/** Renews a lock this process holds. KEYS: lock. ARGV: token, ttlMs. */
export const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

/** Releases a lock this process holds. KEYS: lock. ARGV: token. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
