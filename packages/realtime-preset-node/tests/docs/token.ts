// docs/auth.md: HS256 tokens with node:crypto, as pasted.
// ---- docs/auth.md ----
// token.ts: HS256 JSON Web Tokens with node:crypto
import { createHmac, timingSafeEqual } from 'node:crypto'

const secret = process.env.REALTIME_TOKEN_SECRET ?? '' // e.g. `openssl rand -base64 32`
if (secret.length < 32) throw new Error('Set REALTIME_TOKEN_SECRET to at least 32 random characters.')

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
const hmac = (data: string) => createHmac('sha256', secret).update(data).digest()

/** A token for `userId` that expires after `ttlSeconds`. */
export function signToken(userId: string, ttlSeconds = 60): string {
  const now = Math.floor(Date.now() / 1000)
  const data = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: userId, iat: now, exp: now + ttlSeconds })}`
  return `${data}.${hmac(data).toString('base64url')}`
}

/** The token's claims, or null when it is malformed, not signed with `secret`, or expired. */
export function verifyToken(token: string): { sub: string; exp: number } | null {
  const [header = '', payload = '', signature = ''] = token.split('.')
  const expected = hmac(`${header}.${payload}`) // always HS256: the token's own `alg` is not trusted
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    return typeof claims.sub === 'string' && claims.exp > Date.now() / 1000 ? claims : null
  } catch {
    return null
  }
}
// ---- end ----
