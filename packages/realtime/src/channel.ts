import { InvalidChannelKeyError } from './errors.js'

declare const messageBrand: unique symbol
declare const presenceBrand: unique symbol

/**
 * A channel key: a `[name, params?]` tuple such as `['chat', { roomId: '42' }]`.
 *
 * Keys are compared by their serialization ({@link serializeChannelKey}): object keys are sorted,
 * `undefined` properties and empty params are dropped, so `['chat', { a: 1, b: 2 }]` and
 * `['chat', { b: 2, a: 1 }]` name the same channel on the client, the Node server and a Worker.
 *
 * The optional type parameters carry the channel's message type `M` and presence state type `S`
 * (set by {@link defineChannel} and {@link presenceChannel}) so that payloads are type-checked.
 */
export type ChannelKey<M = unknown, S = unknown> = readonly [name: string, params?: object] & {
  readonly [messageBrand]?: M
  readonly [presenceBrand]?: S
}

/** The message type carried by a channel key (`unknown` for a plain tuple). */
export type MessageOf<K> = K extends ChannelKey<infer M, unknown> ? M : unknown

/** A JSON-compatible object: the shape of presence state. */
export type PresenceState = { [key: string]: unknown }

/** The presence state type carried by a channel key ({@link PresenceState} for a plain tuple). */
export type PresenceStateOf<K> =
  K extends ChannelKey<unknown, infer S> ? (unknown extends S ? PresenceState : S) : PresenceState

type ParamsArgs<P> = [P] extends [void] ? [] : [params: P]

/**
 * A typed channel definition created by {@link defineChannel}. Call it with the channel's params to
 * get a typed {@link ChannelKey}; it is accepted wherever a raw key is, together with `params`.
 */
export interface ChannelDefinition<P extends object | void = void, M = unknown> {
  (...params: ParamsArgs<P>): ChannelKey<M>
  /** The channel name: the first element of every key this definition makes. */
  readonly channelName: string
  readonly kind: 'channel'
}

/**
 * A typed presence channel definition created by {@link presenceChannel}. Call it with params to get
 * a key whose presence state type is `S`.
 */
export interface PresenceChannelDefinition<P extends object | void = void, S extends object = PresenceState> {
  (...params: ParamsArgs<P>): ChannelKey<unknown, S>
  readonly channelName: string
  readonly kind: 'presence'
}

/** Either kind of definition. */
export type AnyChannelDefinition = ChannelDefinition<any, any> | PresenceChannelDefinition<any, any>

/** The longest serialized channel key accepted, in UTF-16 code units. */
export const MAX_CHANNEL_KEY_LENGTH = 512
/** The longest channel name accepted. */
export const MAX_CHANNEL_NAME_LENGTH = 128
const MAX_PARAM_DEPTH = 4

/**
 * Defines a typed channel: `P` is its params type, `M` its message type.
 *
 * @param name - the channel name; defaults to `'channel'`. Name your channels: the server finds
 *   collections and hooks by name, and only one unnamed definition may exist (a second would
 *   silently share its channel, so it throws).
 * @throws {InvalidChannelKeyError} when the name is empty or too long, or when a second unnamed
 *   definition is made elsewhere in the app.
 * @example
 * ```ts
 * const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
 * client.subscribe(chat({ roomId: '42' }), (msg) => console.log(msg.text))
 * ```
 */
export function defineChannel<P extends object | void = void, M = unknown>(name?: string): ChannelDefinition<P, M> {
  return makeDefinition(name ?? unnamed('channel', new Error().stack), 'channel') as unknown as ChannelDefinition<P, M>
}

/**
 * Defines a typed presence channel: `P` is its params type, `S` the state each member shares.
 *
 * @param name - the channel name; defaults to `'presence'` (only one unnamed presence definition may exist).
 * @throws {InvalidChannelKeyError} when the name is empty or too long, or when a second unnamed
 *   definition is made elsewhere in the app.
 * @example
 * ```ts
 * const editorPresence = presenceChannel<{ documentId: string }, { cursor: { x: number; y: number } | null }>('editor')
 * const presence = getPresence(client, editorPresence({ documentId: 'd1' }))
 * ```
 */
export function presenceChannel<P extends object | void = void, S extends object = PresenceState>(
  name?: string,
): PresenceChannelDefinition<P, S> {
  const channelName = name ?? unnamed('presence', new Error().stack)
  return makeDefinition(channelName, 'presence') as unknown as PresenceChannelDefinition<P, S>
}

/** Where the unnamed definition of each default name was made (its caller's stack frame). */
const unnamedSites = new Map<string, string | undefined>()

/**
 * The default name for an unnamed definition. Two unnamed definitions made in different places would
 * share one channel without anyone noticing, so the second throws; the same place running again (a
 * module re-evaluated by hot reloading) is the same definition.
 */
function unnamed(name: 'channel' | 'presence', stack: string | undefined): string {
  // The caller's frame: the second line with a position (the first is the definition function).
  // Query strings (hot-reload versions such as ?t=123) do not make another place.
  const site = stack
    ?.split('\n')
    .filter((line) => /:\d+/.test(line))[1]
    ?.replace(/\?[^:\s)]*/g, '')
    .trim()
  if (!unnamedSites.has(name)) unnamedSites.set(name, site)
  else if (site === undefined || unnamedSites.get(name) !== site) {
    const define = name === 'channel' ? 'defineChannel' : 'presenceChannel'
    throw new InvalidChannelKeyError(
      `A second ${define}() without a name would share the channel "${name}" with the first one; name each, ` +
        `such as ${define}('todos').`,
    )
  }
  return name
}

function makeDefinition(name: string, kind: 'channel' | 'presence') {
  checkName(name)
  const definition = (params?: object): ChannelKey => (params === undefined ? [name] : [name, params])
  return Object.assign(definition, { channelName: name, kind })
}

/** Whether `value` is a definition made by {@link defineChannel} or {@link presenceChannel}. */
export function isChannelDefinition(value: unknown): value is AnyChannelDefinition {
  return typeof value === 'function' && typeof (value as { channelName?: unknown }).channelName === 'string'
}

/**
 * Turns a definition plus params, or a raw key, into a key. Adapters (React hooks, live collections)
 * use it so that every API accepts both forms.
 */
export function resolveChannel<K extends ChannelKey<any, any>>(channel: K | AnyChannelDefinition, params?: object): K {
  if (isChannelDefinition(channel)) return (channel as unknown as (p?: object) => K)(params)
  return channel
}

/**
 * Serializes a channel key deterministically: `["chat",{"roomId":"42"}]`. Object keys are sorted,
 * `undefined` properties and empty params are dropped.
 *
 * @throws {InvalidChannelKeyError} when the key is not a `[name, params?]` tuple of JSON values or
 *   its serialization is longer than {@link MAX_CHANNEL_KEY_LENGTH}.
 */
export function serializeChannelKey(key: ChannelKey<any, any>): string {
  const [name, params] = (Array.isArray(key) ? key : []) as unknown[]
  if (!Array.isArray(key) || key.length > 2 || (params != null && !isPlainObject(params))) {
    throw new InvalidChannelKeyError('A channel key is a [name, params?] tuple.')
  }
  checkName(name)
  const body = params == null ? '{}' : canonical(params, 0)
  const text = `[${JSON.stringify(name)}${body === '{}' ? '' : `,${body}`}]`
  if (text.length > MAX_CHANNEL_KEY_LENGTH) {
    throw new InvalidChannelKeyError(`Channel key too long (over ${MAX_CHANNEL_KEY_LENGTH}): use ids as params.`)
  }
  return text
}

/**
 * Parses a serialized key back into a tuple. Only canonical serializations (as produced by
 * {@link serializeChannelKey}) are accepted, so one channel has exactly one string form.
 *
 * @throws {InvalidChannelKeyError} for anything else.
 */
export function parseChannelKey(text: string): ChannelKey {
  if (typeof text !== 'string' || text.length > MAX_CHANNEL_KEY_LENGTH) {
    throw new InvalidChannelKeyError(`Channel key must be a string of at most ${MAX_CHANNEL_KEY_LENGTH} characters.`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidChannelKeyError('Channel key is not valid JSON.')
  }
  const canonicalText = serializeChannelKey(value as ChannelKey)
  if (canonicalText !== text) {
    throw new InvalidChannelKeyError(`Channel key is not in canonical form; expected ${canonicalText}.`)
  }
  return value as ChannelKey
}

function checkName(name: unknown) {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CHANNEL_NAME_LENGTH) {
    throw new InvalidChannelKeyError(`A channel name must be a string of 1 to ${MAX_CHANNEL_NAME_LENGTH} characters.`)
  }
}

/** The canonical JSON of params: object keys sorted, `undefined` properties dropped. */
function canonical(value: unknown, depth: number): string {
  const type = typeof value
  if (type === 'number' ? Number.isFinite(value) : value === null || type === 'string' || type === 'boolean') {
    return JSON.stringify(value)
  }
  if (depth < MAX_PARAM_DEPTH) {
    if (Array.isArray(value)) return `[${value.map((item) => canonical(item ?? null, depth + 1))}]`
    if (isPlainObject(value)) {
      const keys = Object.keys(value).sort()
      const parts = keys.filter((key) => value[key] !== undefined)
      return `{${parts.map((key) => `${JSON.stringify(key)}:${canonical(value[key], depth + 1)}`)}}`
    }
  }
  throw new InvalidChannelKeyError(`Channel params must be plain JSON, at most ${MAX_PARAM_DEPTH} levels deep.`)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
