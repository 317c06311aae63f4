/**
 * `@tanstack/realtime-redis`: a Redis broker for the Node server, so several processes share
 * channels, history, presence and resume (`createRedisBroker`).
 *
 * @module
 */
export type { CreateRedisBrokerOptions, RedisBrokerOptions } from './broker.js'
export { createRedisBroker, RedisBroker } from './broker.js'
export type { RedisClient, RedisClusterClient, RedisClusterOptions, RedisSource } from './connection.js'
export { RedisUnavailableError } from './errors.js'
export type { ChannelKeys } from './keys.js'
export { channelKeys } from './keys.js'
export type { Appended, LoggedMessage, LogRead } from './log.js'
