/**
 * Guarded access to the few platform features the core needs (timers, randomness, browser events).
 * The core compiles without DOM or Node types; every runtime it targets (browsers, Node, workerd)
 * provides these globals.
 *
 * @internal
 * @module
 */

export type TimerHandle = { readonly __timer: unique symbol }

/** The WHATWG URL class every target runtime has (the core compiles without DOM or Node types). */
export interface UrlLike {
  protocol: string
  host: string
  pathname: string
  search: string
  readonly searchParams: { set(name: string, value: string): void }
  toString(): string
}

interface RuntimeGlobals {
  URL: new (url: string, base?: string) => UrlLike
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle | undefined): void
  crypto: { getRandomValues<T extends Uint8Array>(array: T): T }
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
  document?: { visibilityState?: string }
  console: { error(...data: unknown[]): void; warn(...data: unknown[]): void }
  atob(data: string): string
  TextDecoder: new () => { decode(bytes: Uint8Array): string }
}

const runtime = globalThis as unknown as RuntimeGlobals

/** The WHATWG URL class every target runtime has (the core compiles without DOM or Node types). */
export const Url = runtime.URL

/** Parses a URL; undefined when `url` is not one. */
export function parseUrl(url: string): UrlLike | undefined {
  try {
    return new Url(url)
  } catch {
    return undefined
  }
}

/**
 * Starts a timer. It does not keep a Node process alive unless `keepAlive` is set: a pending
 * request's timeout does, so an awaited request always settles before the process can exit.
 */
export function setTimer(callback: () => void, ms: number, keepAlive = false): TimerHandle {
  const handle = runtime.setTimeout(callback, ms)
  if (!keepAlive) (handle as unknown as { unref?: () => void }).unref?.()
  return handle
}

export function clearTimer(handle: TimerHandle | undefined): void {
  if (handle !== undefined) runtime.clearTimeout(handle)
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const codes = Array.from(alphabet, (char) => char.charCodeAt(0))

let pool = new Uint8Array(0)
let poolIndex = 0

/**
 * A random id of `length` characters from [A-Za-z0-9], drawn from a pooled buffer of random bytes.
 * Built in one call (not by `+=`), so it is one flat string rather than a chain of small ones.
 */
export function randomId(length = 16): string {
  if (poolIndex + length > pool.length) {
    pool = runtime.crypto.getRandomValues(new Uint8Array(Math.max(4096, length)))
    poolIndex = 0
  }
  const chars = new Array<number>(length)
  for (let i = 0; i < length; i++) chars[i] = codes[(pool[poolIndex++] as number) % codes.length] as number
  return String.fromCharCode(...chars)
}

/** Decodes base64url (as in a JWT) into UTF-8 text; undefined when it is not. */
export function base64UrlText(text: string): string | undefined {
  try {
    const binary = runtime.atob(text.replaceAll('-', '+').replaceAll('_', '/'))
    return new runtime.TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)))
  } catch {
    return undefined
  }
}

/**
 * Listens to a browser window event (`online`, `visibilitychange`) where the platform has one.
 * Returns a function that removes the listener; a no-op elsewhere.
 */
export function onWindowEvent(type: string, listener: () => void): () => void {
  if (typeof runtime.addEventListener !== 'function' || runtime.document === undefined) return () => {}
  runtime.addEventListener(type, listener)
  return () => runtime.removeEventListener?.(type, listener)
}

/** Whether the page is visible (always true outside browsers). */
export function isPageVisible(): boolean {
  return runtime.document?.visibilityState !== 'hidden'
}

/** Reports an error on the platform's console. */
export function logError(...data: unknown[]): void {
  runtime.console.error('[tanstack-realtime]', ...data)
}
