import { InvalidChannelKeyError, InvalidOptionsError } from './errors.js'
import type { StandardSchemaV1 } from './schema.js'

declare const messageBrand: unique symbol
declare const presenceBrand: unique symbol
declare const publishBrand: unique symbol

/**
 * A channel key: a `[name, params?]` tuple such as `['chat', { roomId: '42' }]`.
 *
 * Keys are compared by their serialization ({@link serializeChannelKey}): object keys are sorted,
 * `undefined` properties and empty params are dropped, so `['chat', { a: 1, b: 2 }]` and
 * `['chat', { b: 2, a: 1 }]` name the same channel on the client, the Node server and a Worker.
 *
 * The optional type parameters carry the channel's message type `M`, presence state type `S` and
 * the type clients publish `In` (`M` unless the server shapes messages; set by {@link defineChannel}
 * and {@link presenceChannel}) so that payloads are type-checked.
 */
export type ChannelKey<M = unknown, S = unknown, In = M> = readonly [name: string, params?: object] & {
  readonly [messageBrand]?: M
  readonly [presenceBrand]?: S
  readonly [publishBrand]?: In
}

/** The message type carried by a channel key: what subscribers receive (`unknown` for a plain tuple). */
export type MessageOf<K> = K extends { readonly [messageBrand]?: infer M } ? M : unknown

/**
 * What a client publishes on a channel key: its `publish` schema's input when the channel has one
 * (the server shapes it into the message), else its message type.
 */
export type PublishOf<K> = K extends { readonly [publishBrand]?: infer In } ? In : MessageOf<K>

/** A JSON-compatible object: the shape of presence state. */
export type PresenceState = { [key: string]: unknown }

/** The presence state type carried by a channel key ({@link PresenceState} for a plain tuple). */
export type PresenceStateOf<K> =
  K extends ChannelKey<unknown, infer S> ? (unknown extends S ? PresenceState : S) : PresenceState

type ParamsArgs<P> = [P] extends [void] ? [] : [params: P]

/**
 * The schemas of a channel ({@link defineChannel}), any Standard Schema (zod, valibot, arktype...).
 * The server validates every client request against them and answers `invalid` with the schema's
 * issues; the client validates payloads before sending.
 */
export interface ChannelSchemas {
  /** The channel's params (the second element of its key), checked on every request. Not transformed: the key names the channel. */
  params?: StandardSchemaV1<any, object> | undefined
  /** The messages subscribers receive. Client publishes are checked against it unless `publish` is set. */
  message?: StandardSchemaV1 | undefined
  /**
   * What clients may publish, when it differs from what subscribers receive (the server's
   * `onPublish` turns it into the message, adding a verified author or a time). Its output is what
   * `onPublish` receives.
   */
  publish?: StandardSchemaV1 | undefined
}

/** The schemas of a presence channel ({@link presenceChannel}). */
export interface PresenceSchemas {
  /** The channel's params, checked on every request. */
  params?: StandardSchemaV1<any, object> | undefined
  /** The state each member shares: checked on join, and on update (the state after the patch). */
  state?: StandardSchemaV1<any, object> | undefined
}

type Input<T> = T extends StandardSchemaV1 ? StandardSchemaV1.InferInput<T> : never
type Output<T> = T extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<T> : never
/** The params type of a schema set: its `params` schema's input, else no params. */
export type SchemaParams<S> = S extends { params: StandardSchemaV1 } ? Extract<Input<S['params']>, object> : void
/** What subscribers receive on a channel with schemas `S`. */
export type SchemaMessage<S> = S extends { message: StandardSchemaV1 }
  ? Output<S['message']>
  : S extends { publish: StandardSchemaV1 }
    ? Output<S['publish']>
    : unknown
/** What the server's `onPublish` receives on a channel with schemas `S`: the checking schema's output. */
export type SchemaPublished<S> = S extends { publish: StandardSchemaV1 }
  ? Output<S['publish']>
  : S extends { message: StandardSchemaV1 }
    ? Output<S['message']>
    : unknown
/** What clients publish on a channel with schemas `S`. */
export type SchemaPublish<S> = S extends { publish: StandardSchemaV1 }
  ? Input<S['publish']>
  : S extends { message: StandardSchemaV1 }
    ? Input<S['message']>
    : unknown
/** The presence state of a presence channel with schemas `S`. */
export type SchemaState<S> = S extends { state: StandardSchemaV1 } ? Extract<Output<S['state']>, object> : PresenceState

/**
 * A typed channel definition created by {@link defineChannel}. Call it with the channel's params to
 * get a typed {@link ChannelKey}; it is accepted wherever a raw key is, together with `params`.
 */
export interface ChannelDefinition<P extends object | void = void, M = unknown, In = M> {
  (...params: ParamsArgs<P>): ChannelKey<M, unknown, In>
  /** The channel name: the first element of every key this definition makes. */
  readonly channelName: string
  readonly kind: 'channel'
  /** The schemas given to {@link defineChannel}, if any. */
  readonly schemas: ChannelSchemas | undefined
}

/**
 * A typed presence channel definition created by {@link presenceChannel}. Call it with params to get
 * a key whose presence state type is `S`.
 */
export interface PresenceChannelDefinition<P extends object | void = void, S extends object = PresenceState> {
  (...params: ParamsArgs<P>): ChannelKey<unknown, S>
  readonly channelName: string
  readonly kind: 'presence'
  /** The schemas given to {@link presenceChannel}, if any. */
  readonly schemas: PresenceSchemas | undefined
}

/** Either kind of definition. */
export type AnyChannelDefinition = ChannelDefinition<any, any> | PresenceChannelDefinition<any, any>

/** The longest serialized channel key accepted, in UTF-16 code units. */
export const MAX_CHANNEL_KEY_LENGTH = 512
/** The longest channel name accepted. */
export const MAX_CHANNEL_NAME_LENGTH = 128
const MAX_PARAM_DEPTH = 4

/**
 * Defines a typed channel: `P` is its params type, `M` its message type. With schemas (any
 * Standard Schema: zod, valibot, arktype...) the types come from them, the server checks every
 * client request against them (give the server the same definition in its `channels` option) and
 * the client checks payloads before sending.
 *
 * @param name - the channel name; defaults to `'channel'`. Name your channels: the server finds
 *   collections and hooks by name, and only one unnamed definition may exist (a second would
 *   silently share its channel, so it throws).
 * @param schemas - optional `params`, `message` and `publish` schemas ({@link ChannelSchemas})
 * @throws {InvalidChannelKeyError} when the name is empty or too long, or when a second unnamed
 *   definition is made elsewhere in the app; {@link InvalidOptionsError} when a schema is not a Standard Schema.
 * @example
 * ```ts
 * const chat = defineChannel<{ roomId: string }, { text: string }>('chat')
 * client.subscribe(chat({ roomId: '42' }), (msg) => console.log(msg.text))
 *
 * // with schemas (here zod): types inferred, payloads checked by the server and the client
 * const room = defineChannel('room', {
 *   params: z.object({ roomId: z.string() }),
 *   message: z.object({ text: z.string().max(500) }),
 * })
 * ```
 */
export function defineChannel<P extends object | void = void, M = unknown>(name?: string): ChannelDefinition<P, M>
export function defineChannel<const S extends ChannelSchemas>(
  name: string,
  schemas: S,
): ChannelDefinition<SchemaParams<S>, SchemaMessage<S>, SchemaPublish<S>> & { readonly schemas: S }
export function defineChannel(name?: string, schemas?: ChannelSchemas): ChannelDefinition<any, any> {
  return makeDefinition(name ?? unnamed('channel', new Error().stack), 'channel', schemas) as any
}

/**
 * Defines a typed presence channel: `P` is its params type, `S` the state each member shares. With
 * schemas, the types come from them and the server checks every join and update against them.
 *
 * @param name - the channel name; defaults to `'presence'` (only one unnamed presence definition may exist).
 * @param schemas - optional `params` and `state` schemas ({@link PresenceSchemas})
 * @throws {InvalidChannelKeyError} when the name is empty or too long, or when a second unnamed
 *   definition is made elsewhere in the app; {@link InvalidOptionsError} when a schema is not a Standard Schema.
 * @example
 * ```ts
 * const editorPresence = presenceChannel<{ documentId: string }, { cursor: { x: number; y: number } | null }>('editor')
 * const presence = getPresence(client, editorPresence({ documentId: 'd1' }))
 * ```
 */
export function presenceChannel<P extends object | void = void, S extends object = PresenceState>(
  name?: string,
): PresenceChannelDefinition<P, S>
export function presenceChannel<const S extends PresenceSchemas>(
  name: string,
  schemas: S,
): PresenceChannelDefinition<SchemaParams<S>, SchemaState<S>> & { readonly schemas: S }
export function presenceChannel(name?: string, schemas?: PresenceSchemas): PresenceChannelDefinition<any, any> {
  return makeDefinition(name ?? unnamed('presence', new Error().stack), 'presence', schemas) as any
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

/**
 * Where a key made by a definition with schemas keeps them (hidden: keys stay plain tuples), as a
 * function returning them: reactive proxies (Vue `ref`, Solid stores, Svelte `$state`) return a
 * function as it is, where they would wrap an object (and break on a read-only property holding one).
 */
const SCHEMAS = Symbol.for('tanstack.realtime.schemas')

function makeDefinition(
  name: string,
  kind: 'channel' | 'presence',
  schemas: ChannelSchemas | PresenceSchemas | undefined,
) {
  checkName(name)
  if (schemas !== undefined) checkSchemas(schemas, name)
  const carried = () => schemas
  const definition = schemas
    ? (params?: object): ChannelKey => {
        const key: ChannelKey = params === undefined ? [name] : [name, params]
        Object.defineProperty(key, SCHEMAS, { value: carried })
        return key
      }
    : (params?: object): ChannelKey => (params === undefined ? [name] : [name, params])
  return Object.assign(definition, { channelName: name, kind, schemas })
}

function checkSchemas(schemas: object, name: string) {
  if (typeof schemas !== 'object' || schemas === null) {
    throw new InvalidOptionsError(`The schemas of channel "${name}" must be an object such as { message }.`)
  }
  for (const [field, schema] of Object.entries(schemas)) {
    if (schema !== undefined && typeof (schema as StandardSchemaV1)?.['~standard']?.validate !== 'function') {
      throw new InvalidOptionsError(
        `schemas.${field} of channel "${name}" is not a Standard Schema (zod 3.24+, valibot 1, arktype 2...).`,
      )
    }
  }
}

/** The schemas of a key made by a definition that has them. */
export function schemasOf(key: ChannelKey<any, any>): (ChannelSchemas & PresenceSchemas) | undefined {
  return (key as { [SCHEMAS]?: () => ChannelSchemas & PresenceSchemas })[SCHEMAS]?.()
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
