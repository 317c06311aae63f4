// docs/scaling.md: a store over your own node-redis client, and one over a Cluster, as pasted (the test sets
// REDIS_URL to a Redis and REDIS_CLUSTER_NODES to a local cluster's masters before importing this).
// ---- docs/scaling.md ----
import { createClient } from '@redis/client'
import { createRedisStore } from '@tanstack/realtime-redis'

// Your node-redis client (from `redis` or `@redis/client`, v5 or later): the store duplicates it for
// pub/sub, and leaves it open when it closes.
const client = createClient({ url: process.env.REDIS_URL, socket: { connectTimeout: 2000 } })
await client.connect()
const store = createRedisStore({ client, historySize: 1000 })

// A Redis Cluster: node-redis `createCluster` options (any of its masters bootstraps the client).
const clustered = createRedisStore({
  cluster: { rootNodes: (process.env.REDIS_CLUSTER_NODES ?? '').split(',').map((url) => ({ url })) },
})

// ---- end ----

export { client, clustered, store }
