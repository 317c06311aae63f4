'use client'
/**
 * `@tanstack/react-realtime/collections`: React access to live collections. A separate entry so
 * apps that only use the hooks need neither `@tanstack/db` nor `@tanstack/react-db`.
 *
 * @module
 */
export { useLiveCollection } from './useLiveCollection.js'
