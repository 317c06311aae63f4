import { randomBytes } from 'node:crypto'

/** A random id of `length` URL-safe characters (process ids, lock tokens). */
export function randomToken(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64url')
    .slice(0, length)
}
