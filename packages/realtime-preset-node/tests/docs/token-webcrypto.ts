// docs/auth.md: the same token check with WebCrypto, as pasted.
// ---- docs/auth.md ----
// verify-token.ts: the same check with WebCrypto (Cloudflare Workers, Deno, Bun, Node)
const encoder = new TextEncoder()
const bytes = (base64url: string) =>
  Uint8Array.from(atob(base64url.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0))

export async function verifyToken(token: string, secret: string): Promise<{ sub: string; exp: number } | null> {
  const [header = '', payload = '', signature = ''] = token.split('.')
  try {
    const hmac = { name: 'HMAC', hash: 'SHA-256' }
    const key = await crypto.subtle.importKey('raw', encoder.encode(secret), hmac, false, ['verify'])
    const valid = await crypto.subtle.verify(hmac, key, bytes(signature), encoder.encode(`${header}.${payload}`))
    const claims = valid ? JSON.parse(new TextDecoder().decode(bytes(payload))) : null
    return typeof claims?.sub === 'string' && claims.exp > Date.now() / 1000 ? claims : null
  } catch {
    return null // not base64url, not JSON
  }
}
// ---- end ----
