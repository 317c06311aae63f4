import type {
  AnyChannelDefinition,
  ChannelDefinition,
  ChannelKey,
  ChannelSchemas,
  PresenceChannelDefinition,
  PresenceSchemas,
  PresenceState,
  SchemaPublished,
} from '../../channel.js'
import { InvalidOptionsError, RealtimeError, ServerError } from '../../errors.js'
import { clearTimer, setTimer } from '../../runtime.js'

/**
 * Returned by `onPublish` to drop a message: the publisher's request succeeds (its promise resolves
 * with `seq` 0) and nobody receives anything, so a filtered sender cannot tell.
 */
export const DROP: unique symbol = Symbol.for('tanstack.realtime.drop') as never

/** What every hook receives: the channel, and who made the request (verified by the server). */
export interface HookContext<I, P> {
  /** The channel key, such as `['chat', { roomId: '42' }]`. */
  channel: ChannelKey
  /** The channel's params (`channel[1]`), checked against its `params` schema when it has one. */
  params: P
  /** The user id of the connection, as others see it in presence: what the server verified, not what a client claims. */
  userId: string
  /** The connection's id (presence members are keyed by it). */
  connectionId: string
  /** What authentication returned: on Node what `getAuthToken` returned, on Workers the user id. */
  identity: I
}

/** What `onPublish` receives: the message a client publishes, already checked by the channel's schema. */
export interface PublishContext<I, P, In> extends HookContext<I, P> {
  data: In
}

/** What `onJoin` receives: the presence state a client joins with, already checked by the channel's schema. */
export interface JoinContext<I, P, S> extends HookContext<I, P> {
  state: S
  /** Whether this connection was a member already (a reconnect that kept its presence, or a second join). */
  rejoin: boolean
}

/** What `onUpdate` receives: the state after the patch (checked by the schema), the one before, and the patch. */
export interface UpdateContext<I, P, S> extends HookContext<I, P> {
  state: S
  previous: S
  patch: Partial<S>
}

/**
 * What `onLeave` receives. `identity` is undefined when the member left because its connection
 * dropped and did not come back within the grace period (its connection is gone).
 */
export interface LeaveContext<I, P, S> extends Omit<HookContext<I, P>, 'identity'> {
  identity: I | undefined
  /** The member's last state. */
  state: S
}

type MaybePromise<T> = T | Promise<T>

/**
 * Server hooks of one channel. They run on the server, in order per channel (one at a time, in the
 * order the requests arrive at this server process), before anything is sent to other clients.
 * Throw a `RealtimeError` (`InvalidError`, `ForbiddenError`...) to refuse the request with it; any
 * other error is reported to `onError` and answered `internal`, as is a hook that takes longer than
 * `hookTimeoutMs` (the channel's next request then goes ahead: the late hook's result is ignored).
 */
export interface ChannelHooks<I = unknown, P = any, M = unknown, In = M, S extends object = PresenceState> {
  /**
   * A client publishes. Return the message to deliver (such as `data` with the sender's verified id
   * and the server's time), nothing to deliver `data` as it is, or {@link DROP} to deliver nothing.
   * Not called for server-side publishes (they are trusted), nor again for a publish the client
   * resent after a dropped connection once it was applied (a dropped one is asked again). A value
   * that is not JSON is the server's mistake: reported to `onError`, answered `internal`.
   */
  onPublish?(context: PublishContext<I, P, In>): MaybePromise<M | undefined | typeof DROP | void>
  /** A client joins presence. Return the state to keep (such as a verified name), or nothing to keep `state`. */
  onJoin?(context: JoinContext<I, P, S>): MaybePromise<S | undefined | void>
  /** A member updates its state. Return the state to keep, or nothing to keep `state`. */
  onUpdate?(context: UpdateContext<I, P, S>): MaybePromise<S | undefined | void>
  /**
   * A member left: it called leave, its client disconnected, or its connection dropped and did not
   * come back within the grace period. For side effects (audit, counters, "last seen"); it cannot
   * refuse, and its errors are reported to `onError`.
   */
  onLeave?(context: LeaveContext<I, P, S>): MaybePromise<void>
}

/** The server side of a channel made by {@link defineServerChannel}: give it to the server's `channels` option. */
export interface ServerChannel<I = unknown> {
  readonly channelName: string
  readonly schemas: (ChannelSchemas & PresenceSchemas) | undefined
  readonly hooks: ChannelHooks<I, any, any, any, any>
}

/** What `onPublish` receives: the output of the schema that checked it (a transform's result), else the publish type. */
type Published<D, In> = D extends { readonly schemas: infer S extends ChannelSchemas }
  ? unknown extends SchemaPublished<S>
    ? In
    : SchemaPublished<S>
  : In

type HooksFor<D, I> =
  D extends ChannelDefinition<infer P, infer M, infer In>
    ? ChannelHooks<I, P, M, Published<D, In>, PresenceState>
    : D extends PresenceChannelDefinition<infer P, infer S>
      ? ChannelHooks<I, P, unknown, unknown, S>
      : ChannelHooks<I>

/**
 * Declares what the server does with a channel's requests: its hooks, with the schemas of its
 * definition. Pass the result in the server's `channels` option (Node: `createNodeServer`; Workers:
 * the `options` of your `RealtimeChannel` class). A definition passed there alone gets its schemas
 * checked and no hooks.
 *
 * @param channel - a definition from `defineChannel`/`presenceChannel` (its schemas apply and type
 *   the hooks), or a channel name
 * @param hooks - `onPublish`, `onJoin`, `onUpdate`, `onLeave` ({@link ChannelHooks})
 * @throws {InvalidOptionsError} when a hook is not a function.
 * @example
 * ```ts
 * const chat = defineChannel('chat', {
 *   params: z.object({ roomId: z.string() }),
 *   publish: z.object({ text: z.string().min(1).max(500) }),
 *   message: z.object({ text: z.string(), from: z.string(), at: z.number() }),
 * })
 *
 * createNodeServer({
 *   getAuthToken,
 *   channels: [
 *     defineServerChannel(chat, {
 *       onPublish: ({ data, userId }) => ({ text: data.text, from: userId, at: Date.now() }),
 *     }),
 *   ],
 * })
 * ```
 */
export function defineServerChannel<D extends AnyChannelDefinition | string, I = unknown>(
  channel: D,
  hooks: HooksFor<D, I>,
): ServerChannel<I> {
  const definition = typeof channel === 'string' ? undefined : (channel as AnyChannelDefinition)
  const channelName = definition ? definition.channelName : channel
  if (typeof channelName !== 'string' || channelName === '') {
    throw new InvalidOptionsError('defineServerChannel needs a channel definition or a channel name.')
  }
  for (const [name, hook] of Object.entries(hooks ?? {})) {
    if (!HOOK_NAMES.includes(name as HookName) || typeof hook !== 'function') {
      throw new InvalidOptionsError(`Channel "${channelName}": ${name} is not a hook (${HOOK_NAMES.join(', ')}).`)
    }
  }
  return { channelName, schemas: definition?.schemas, hooks: hooks as ChannelHooks<I> }
}

const HOOK_NAMES = ['onPublish', 'onJoin', 'onUpdate', 'onLeave'] as const
type HookName = (typeof HOOK_NAMES)[number]

/** What the channel core knows of a channel name: its schemas and hooks, merged from the `channels` option. */
export interface ChannelSpec<I = unknown> {
  readonly name: string
  readonly schemas: ChannelSchemas & PresenceSchemas
  readonly hooks: ChannelHooks<I, any, any, any, any>
}

/**
 * The `channels` option as the core reads it: a spec per channel name.
 *
 * @throws {InvalidOptionsError} for an entry that is neither a definition nor a server channel, or a name given twice.
 */
export function resolveChannelSpecs(
  channels: readonly (ServerChannel<any> | AnyChannelDefinition)[] | undefined,
): ReadonlyMap<string, ChannelSpec<any>> {
  const specs = new Map<string, ChannelSpec<any>>()
  if (channels === undefined) return specs
  if (!Array.isArray(channels)) {
    throw new InvalidOptionsError(
      'Option "channels" is a list of channel definitions and defineServerChannel(...) results.',
    )
  }
  for (const entry of channels) {
    const name = (entry as { channelName?: unknown })?.channelName
    if (typeof name !== 'string') {
      throw new InvalidOptionsError('Each of "channels" is a channel definition or a defineServerChannel(...) result.')
    }
    if (specs.has(name)) throw new InvalidOptionsError(`The channel "${name}" is given twice in "channels".`)
    const hooks = 'hooks' in entry ? entry.hooks : {}
    specs.set(name, { name, schemas: entry.schemas ?? {}, hooks })
  }
  return specs
}

/**
 * Runs a user hook: its result, or a `RealtimeError` it threw as is. Anything else it throws, and a
 * hook still running after `timeoutMs`, is reported to `onError` and becomes a `ServerError`
 * (`internal`), so a request is always answered and the channel's queue moves on.
 */
export async function runHook<T>(
  label: string,
  timeoutMs: number,
  onError: (error: unknown) => void,
  hook: () => MaybePromise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimer> | undefined
  try {
    const result = hook()
    if (!(result instanceof Promise)) return result
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimer(
        () => reject(new HookTimeout(`${label} did not settle within hookTimeoutMs (${timeoutMs} ms).`)),
        timeoutMs,
      )
    })
    return await Promise.race([result, timeout])
  } catch (error) {
    if (error instanceof RealtimeError) throw error
    onError(error)
    throw new ServerError(error instanceof HookTimeout ? error.message : `The server's ${label} failed.`)
  } finally {
    clearTimer(timer)
  }
}

class HookTimeout extends Error {
  override name = 'HookTimeout'
}

/**
 * The name of a serialized channel key (canonical, so it starts with `["`): sliced out without
 * parsing unless it has escapes.
 */
export function channelNameOf(ch: string): string | undefined {
  const end = ch.indexOf('"', 2)
  const name = ch.slice(2, end)
  if (!name.includes('\\')) return name
  try {
    return JSON.parse(ch)[0]
  } catch {
    return undefined
  }
}
