/**
 * The default user id of an identity, the rule the engine applies when `getUserId` is not set: the
 * identity itself when it is a string or number, else its `userId`, `id` or `sub` field, else
 * `'anonymous'`.
 *
 * @example
 * ```ts
 * defaultUserId({ sub: 'u1', role: 'admin' }) // 'u1'
 * ```
 */
export function defaultUserId(identity: unknown): string {
  if (typeof identity === 'string') return identity
  if (typeof identity === 'number') return String(identity)
  if (typeof identity === 'object' && identity !== null) {
    for (const field of ['userId', 'id', 'sub']) {
      const value = (identity as Record<string, unknown>)[field]
      if (typeof value === 'string' || typeof value === 'number') return String(value)
    }
  }
  return 'anonymous'
}
