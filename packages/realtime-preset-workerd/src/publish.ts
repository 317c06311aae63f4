import {
  type ChannelKey,
  errorFromCode,
  InvalidError,
  type MessageOf,
  type StreamPosition,
  serializeChannelKey,
} from '@tanstack/realtime'
import type { WorkerdEnv } from './runtime-types.js'

/**
 * Server-side publish from a Worker (an API route, a queue consumer, a cron trigger): delivers
 * `data` to every subscriber of `channel`, with no authorization check. It calls the RPC method
 * `publish` of the channel's Durable Object (`idFromName` of the serialized key), which does what
 * the README's `POST` example does, with a typed key and typed errors.
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
  const ch = serializeChannelKey(channel)
  if (JSON.stringify(data) === undefined) throw new InvalidError('Message data must be JSON-serializable.')
  const namespace = env.REALTIME_CHANNEL
  try {
    const { seq, epoch } = await namespace.get(namespace.idFromName(ch)).publish(ch, data)
    return { seq, epoch }
  } catch (error) {
    // RPC errors arrive as plain errors; the object puts the code first: "[too_large] Message is ...".
    const [, code = 'internal', message] = /^\[(\w+)\] ([\s\S]*)$/.exec((error as Error)?.message ?? '') ?? []
    throw errorFromCode(code, message ?? `Publish failed: ${String((error as Error)?.message ?? error)}`)
  }
}
