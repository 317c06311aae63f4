import { expect, test } from 'vitest'
import { type OriginTarget, originAllowed } from '../src/server/origin.js'

test('the default Origin rule: same host, and an http page never on a TLS connection', () => {
  const plain = { host: 'app.example:8080', secure: false }
  const tls = { host: 'app.example:8080', secure: true }
  const proxied = { host: 'app.example:8080', secure: false, forwardedProto: 'https' }
  const cases: Array<[string | undefined, OriginTarget, boolean]> = [
    [undefined, tls, true], // not a browser
    ['http://app.example:8080', plain, true],
    ['https://app.example:8080', plain, true], // behind a TLS-terminating proxy that sets no header
    ['https://app.example:8080', tls, true],
    ['http://app.example:8080', tls, false],
    ['http://app.example:8080', proxied, false],
    ['http://app.example:8080', { ...proxied, forwardedProto: 'HTTPS, http' }, false],
    ['http://app.example:8080', { ...proxied, forwardedProto: 'http' }, true],
    ['https://app.example:8080', proxied, true],
    ['http://APP.example:8080', { ...plain, host: 'app.EXAMPLE:8080' }, true],
    ['http://app.example', plain, false], // another port
    ['http://evil.example:8080', plain, false],
    ['ws://app.example:8080', plain, false],
    ['file://', plain, false],
    ['null', plain, false],
  ]
  for (const [origin, target, allowed] of cases) {
    expect(originAllowed(origin, undefined, {}, target), `${origin} ${JSON.stringify(target)}`).toBe(allowed)
  }
  expect(originAllowed('http://x', ['http://x'], {}, tls)).toBe(true)
  expect(originAllowed('http://y', (origin) => origin === 'http://y', {}, tls)).toBe(true)
})
