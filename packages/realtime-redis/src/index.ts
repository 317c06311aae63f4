/**
 * `@tanstack/realtime-redis`: a channel store in Redis for the Node server, so several processes
 * share channels, history, presence and resume (`createRedisStore`).
 *
 * @module
 */
export type { RedisClient, RedisClusterClient, RedisClusterOptions, RedisSource } from './connection.js'
export { RedisUnavailableError } from './errors.js'
export type { ChannelKeys } from './keys.js'
export { channelKeys } from './keys.js'
export type { CreateRedisStoreOptions, RedisStoreOptions } from './store.js'
export { createRedisStore, RedisChannelStore } from './store.js'
