'use client'
/**
 * `@tanstack/react-realtime/collections`: React access to live collections. A separate entry so
 * apps that only use the hooks do not need `@tanstack/react-db` (which brings `@tanstack/db`).
 *
 * @module
 */
export { useLiveCollection } from './useLiveCollection.js'
