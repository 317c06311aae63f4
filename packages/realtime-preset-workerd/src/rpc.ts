import {
  type ChannelKey,
  errorFromCode,
  InvalidError,
  type MessageOf,
  type PresenceMember,
  type PresenceStateOf,
  type StreamPosition,
  serializeChannelKey,
} from '@tanstack/realtime'
import type { HistoryMessage, HistoryOptions } from '@tanstack/realtime/server'
import { historyLimit } from './options.js'
import type { ChannelObjectStub, WorkerdEnv } from './runtime-types.js'

/**
 * Server-side publish from a Worker (an API route, a queue consumer, a cron trigger): delivers
 * `data` to every subscriber of `channel`, with no authorization check (and no schema or hook: the
 * server is trusted). It calls the RPC method `publish` of the channel's Durable Object
 * (`idFromName` of the serialized key), which does what the README's `POST` example does, with a
 * typed key and typed errors.
 *
 * @param env - the Worker's bindings (with `REALTIME_CHANNEL`)
 * @param channel - the channel key, such as `['todos', { teamId: '123' }]`
 * @param data - any JSON value
 * @returns the message's position in the channel's stream
 * @throws {InvalidChannelKeyError} for a bad key; {@link InvalidError} when `data` is not JSON;
 *   {@link TooLargeError} when it exceeds the channel's `maxMessageBytes`; {@link ServerError} when
 *   the object failed.
 * @example
 * ```ts
 * import { publish } from '@tanstack/realtime-preset-workerd'
 *
 * await publish(env, ['todos', { teamId: '123' }], { type: 'created', todo })
 * ```
 */
export async function publish<K extends ChannelKey<any, any>>(
  env: WorkerdEnv,
  channel: K,
  data: MessageOf<K>,
): Promise<StreamPosition> {
  if (JSON.stringify(data) === undefined) throw new InvalidError('Message data must be JSON-serializable.')
  const { seq, epoch } = await call(env, channel, 'Publish', (stub, ch) => stub.publish(ch, data))
  return { seq, epoch }
}

/**
 * Who is present in a channel, in join order, as its clients see them (members whose connection
 * dropped stay listed for the grace period): for an API route or a page rendered in a Worker.
 * Calls the RPC method `presence` of the channel's Durable Object.
 *
 * @param env - the Worker's bindings (with `REALTIME_CHANNEL`)
 * @param channel - the channel key
 * @throws {InvalidChannelKeyError} for a bad key; {@link ServerError} when the object failed.
 * @example
 * ```ts
 * const online = await getPresence(env, ['chat', { roomId: '42' }]) // [{ connectionId, userId, state }]
 * ```
 */
export async function getPresence<K extends ChannelKey<any, any>>(
  env: WorkerdEnv,
  channel: K,
): Promise<PresenceMember<PresenceStateOf<K>>[]> {
  const members = await call(env, channel, 'getPresence', (stub, ch) => stub.presence(ch))
  return members.map(({ cid, uid, state }) => ({ connectionId: cid, userId: uid, state: state as PresenceStateOf<K> }))
}

/**
 * The newest messages a channel keeps (at most `limit`; each channel keeps `historySize`), oldest
 * first, as subscribers received them: to render recent messages in a Worker. Calls the RPC method
 * `history` of the channel's Durable Object.
 *
 * @param env - the Worker's bindings (with `REALTIME_CHANNEL`)
 * @param channel - the channel key
 * @param options - `limit`: the most messages returned (the newest)
 * @throws {InvalidChannelKeyError} for a bad key; {@link InvalidOptionsError} for a bad `limit`;
 *   {@link ServerError} when the object failed.
 * @example
 * ```ts
 * const recent = await getHistory(env, ['chat', { roomId: '42' }], { limit: 20 }) // [{ seq, data }]
 * ```
 */
export async function getHistory<K extends ChannelKey<any, any>>(
  env: WorkerdEnv,
  channel: K,
  options: HistoryOptions = {},
): Promise<HistoryMessage<MessageOf<K>>[]> {
  const limit = historyLimit(options.limit)
  const messages = await call(env, channel, 'getHistory', (stub, ch) => stub.history(ch, limit))
  return messages as HistoryMessage<MessageOf<K>>[]
}

/**
 * Calls an RPC method of the channel's Durable Object. RPC errors arrive as plain errors: the object
 * puts the code first ("[too_large] Message is ..."), and it becomes the typed error again here.
 */
async function call<T>(
  env: WorkerdEnv,
  channel: ChannelKey<any, any>,
  what: string,
  method: (stub: ChannelObjectStub, ch: string) => Promise<T>,
): Promise<T> {
  const ch = serializeChannelKey(channel)
  const namespace = env.REALTIME_CHANNEL
  try {
    return await method(namespace.get(namespace.idFromName(ch)), ch)
  } catch (error) {
    const [, code = 'internal', message] = /^\[(\w+)\] ([\s\S]*)$/.exec((error as Error)?.message ?? '') ?? []
    throw errorFromCode(code, message ?? `${what} failed: ${String((error as Error)?.message ?? error)}`)
  }
}
