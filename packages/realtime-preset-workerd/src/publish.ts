import {
  type ChannelKey,
  errorFromCode,
  InvalidError,
  type MessageOf,
  type StreamPosition,
  serializeChannelKey,
} from '@tanstack/realtime'
import type { WorkerdEnv } from './runtime-types.js'
import { channelPath } from './wire.js'

/**
 * Server-side publish from a Worker (an API route, a queue consumer, a cron trigger): delivers
 * `data` to every subscriber of `channel`, with no authorization check. It does what the README's
 * `POST` example does, with a typed key and typed errors: the request goes to the channel's
 * Durable Object (`idFromName` of the serialized key) as `POST /_realtime/<encoded key>` with body
 * `{ "data": ... }`.
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
  const stub = namespace.get(namespace.idFromName(ch))
  const response = await stub.fetch(
    new Request(`https://internal${channelPath('/_realtime', ch)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
    }),
  )
  const body = (await response.json().catch(() => undefined)) as
    | (StreamPosition & { error?: { code?: string; message?: string } })
    | undefined
  if (!response.ok || body === undefined) {
    throw errorFromCode(body?.error?.code ?? 'internal', body?.error?.message ?? `Publish failed (${response.status}).`)
  }
  return { seq: body.seq, epoch: body.epoch }
}
