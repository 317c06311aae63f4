/**
 * A property-based fuzz of a running server (either preset), with fast-check: arbitrary frames
 * (valid-ish requests with and without `rewind` and idempotency keys, garbage, deep nesting, huge
 * numbers, unicode, binary frames) sent over many
 * raw sockets. The properties, checked after every batch:
 *
 * - every frame with a readable id (a JSON object with an integer `id` from 1 to 2³¹−1, not a
 *   `ping`) gets exactly one answer (`ack` or `err`) with that id; every other frame one id-less
 *   `err`; every `ping` one `pong`; no answer is `internal` and nothing is reported to `onError`;
 * - a bystander subscribed to `["lobby"]` (which the fuzz also publishes to) receives every message
 *   of that channel once, in order, and the server still serves it at the end.
 *
 * The figures come back for `npm run fuzz` to print.
 */
import type { RealtimeClient, StreamPosition } from '@tanstack/realtime'
import fc from 'fast-check'
import { expect } from 'vitest'
import { WebSocket } from 'ws'
import { eventually } from '../support/helpers.js'

/** What the fuzz needs of a running server. */
export interface FuzzTarget {
  /** The URL of a socket for `channel` (serialized), with `query`. */
  socketUrl(channel: string, query: string): string
  /** A well-behaved client (the bystander). */
  client(token: string): RealtimeClient
  publish(channel: ['lobby'], data: unknown): Promise<StreamPosition>
  /** Errors the server reported to its `onError` so far. */
  reported(): number
}

export interface FuzzOptions {
  /** Frames to send (at least). */
  frames: number
  seed?: number
}

export interface FuzzFigures {
  seed: number
  batches: number
  framesSent: number
  binaryFrames: number
  /** Frames with a readable id, and the answers they got. */
  requests: number
  answered: number
  /** Answers by kind: `ack`, or the `err` code. */
  answers: Record<string, number>
  idlessErrors: number
  pongs: number
  /** Answers missing or extra (expected 0), `internal` answers and reported errors (the "crashes"). */
  missing: number
  extra: number
  internalErrors: number
  reportedErrors: number
  bystanderMessages: number
  /** Messages the bystander missed, got twice or out of order (expected 0). */
  bystanderGaps: number
  ms: number
}

/** The channels of the fuzz sockets (on Workers one socket serves one channel). */
const SOCKET_CHANNELS = ['["lobby"]', '["fuzz",{"n":1}]', '["todos",{"list":"a"}]', '["fuzz",{"n":2}]']
/** In generated frames: the channel of the socket the frame is sent on. */
const OWN = '"$OWN"'
const MAX_ID = 2 ** 31 - 1
/** Barrier ids: above every id the fuzz generates, except the edge values. */
const FIRST_BARRIER_ID = 10_000_001

const json = (value: unknown) => JSON.stringify(value)

/** Raw JSON text of a value nested `depth` levels (arrays or objects), possibly far past the limit. */
const deep = fc
  .tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`,
  )
const hugeNumber = fc.constantFrom(
  '1e999',
  '-1e999',
  '123456789012345678901234567890',
  '9007199254740993',
  '-0',
  '5e-324',
  '1.7976931348623157e308',
)
const unicode = fc.string({ unit: 'binary', maxLength: 64 })
const jsonText = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }).map(json)
const valueText = fc.oneof(
  { weight: 6, arbitrary: jsonText },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: unicode.map(json) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((n) => json('é'.repeat(n))) },
)
const objectText = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(unicode, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map(json) },
  { weight: 1, arbitrary: deep.map((text) => `{"deep":${text}}`) },
  { weight: 1, arbitrary: valueText },
)
const idText = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 1_000_000 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '0',
      '-1',
      '1.5',
      String(MAX_ID),
      String(MAX_ID + 1),
      '"7"',
      'null',
      'true',
      '1e3',
      '-0',
    ),
  },
)
const channelText = fc.oneof(
  { weight: 10, arbitrary: fc.constant(OWN) },
  { weight: 2, arbitrary: fc.constantFrom(...SOCKET_CHANNELS.map(json)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      json('["x", {"b":1,"a":2}]'),
      json('[""]'),
      json('x'),
      '42',
      'null',
      json('["__proto__"]'),
    ),
  },
  { weight: 1, arbitrary: unicode.map(json) },
)
const seqText = fc.oneof(fc.nat({ max: 50 }).map(String), hugeNumber, fc.constantFrom('-1', '1.5', '"3"'))
const opText = fc
  .tuple(
    fc.constantFrom('insert', 'update', 'delete', 'upsert'),
    fc.oneof(fc.constantFrom('"a"', '"b"', '1'), hugeNumber, unicode.map(json)),
    fc.oneof(fc.record({ title: unicode, done: fc.boolean() }).map(json), fc.constant('{"title":""}'), objectText),
  )
  .map(([type, key, value]) => `{"type":"${type}","key":${key},"value":${value}}`)

/** A `rewind` field: mostly valid, sometimes out of range, of the wrong type, or beside `since`. */
const rewindText = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1000 }).map((n) => `,"rewind":${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1001', '1.5', '"3"', 'null', '1e999').map((n) => `,"rewind":${n}`) },
  { weight: 1, arbitrary: fc.constant(',"rewind":2,"since":{"seq":0,"epoch":"e"}') },
)
/** An optional idempotency key: few distinct valid ones (so retries happen), and invalid ones. */
const idemText = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom('k1', 'k2', 'k-3', 'K_4').map((key) => `,"idem":${json(key)}`) },
  { weight: 1, arbitrary: fc.oneof(unicode, fc.constantFrom('', 'x'.repeat(65))).map((key) => `,"idem":${json(key)}`) },
  { weight: 1, arbitrary: fc.constantFrom('7', 'null', '{}').map((key) => `,"idem":${key}`) },
)

/** One request-shaped frame: right type, fields right or wrong. */
const request = fc.oneof(
  fc
    .tuple(idText, channelText, fc.option(fc.tuple(seqText, fc.oneof(unicode, fc.constant('e'))), { nil: undefined }))
    .map(
      ([id, ch, since]) =>
        `{"t":"sub","id":${id},"ch":${ch}${since ? `,"since":{"seq":${since[0]},"epoch":${json(since[1])}}` : ''}}`,
    ),
  fc.tuple(idText, channelText, rewindText).map(([id, ch, rewind]) => `{"t":"sub","id":${id},"ch":${ch}${rewind}}`),
  fc
    .tuple(fc.constantFrom('unsub', 'pleave', 'snap'), idText, channelText)
    .map(([t, id, ch]) => `{"t":"${t}","id":${id},"ch":${ch}}`),
  fc
    .tuple(idText, channelText, valueText, idemText)
    .map(([id, ch, data, idem]) => `{"t":"pub","id":${id},"ch":${ch},"data":${data}${idem}}`),
  fc
    .tuple(fc.constantFrom('pjoin', 'pset'), idText, channelText, objectText)
    .map(([t, id, ch, state]) => `{"t":"${t}","id":${id},"ch":${ch},"${t === 'pjoin' ? 'state' : 'patch'}":${state}}`),
  fc
    .tuple(idText, channelText, fc.array(opText, { maxLength: 4 }), idemText)
    .map(([id, ch, ops, idem]) => `{"t":"write","id":${id},"ch":${ch},"ops":[${ops.join(',')}]${idem}}`),
  fc.tuple(unicode, idText, channelText).map(([t, id, ch]) => `{"t":${json(t)},"id":${id},"ch":${ch}}`),
  fc.constantFrom('{"t":"ping"}', '{"t":"ping","id":3}'),
)

/** Anything at all: garbage text, JSON that is not a frame, damaged requests, binary frames. */
const garbage = fc.oneof(
  unicode,
  jsonText,
  deep,
  fc.tuple(request, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  fc.tuple(request, fc.nat(), unicode).map(([text, at, insert]) => {
    const i = at % (text.length + 1)
    return text.slice(0, i) + insert + text.slice(i)
  }),
  fc.uint8Array({ maxLength: 64 }),
  request.map((text) => new Uint8Array(Buffer.from(`\ufeff${text}`))),
  request.map((text) => new Uint8Array(Buffer.from(text))),
)

const sentFrame = fc.record({
  conn: fc.nat({ max: 63 }),
  frame: fc.oneof({ weight: 3, arbitrary: request }, { weight: 1, arbitrary: garbage }),
})

type Expectation = { id: number } | 'idless' | 'pong'

/** The protocol's rule for what a frame is answered with (independent of the server's decoder). */
function expectation(frame: string | Uint8Array): Expectation {
  if (typeof frame !== 'string') return 'idless'
  let value: unknown
  try {
    value = JSON.parse(frame)
  } catch {
    return 'idless'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'idless'
  const { t, id } = value as { t?: unknown; id?: unknown }
  if (t === 'ping') return 'pong'
  return Number.isInteger(id) && (id as number) >= 1 && (id as number) <= MAX_ID ? { id: id as number } : 'idless'
}

/** A fuzz socket: counts what it is answered. */
class FuzzSocket {
  readonly expected = new Map<number, number>()
  readonly answered = new Map<number, number>()
  expectedIdless = 0
  idless = 0
  expectedPongs = 0
  pongs = 0
  readonly kinds: Record<string, number>
  closed: number | undefined = undefined
  readonly #waiters = new Map<number, () => void>()

  constructor(
    readonly ws: WebSocket,
    readonly channel: string,
    kinds: Record<string, number>,
  ) {
    this.kinds = kinds
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.t === 'pong') this.pongs++
      else if (frame.t === 'err' && frame.id === undefined) this.idless++
      else if (frame.t === 'ack' || frame.t === 'err') {
        const waiter = this.#waiters.get(frame.id)
        if (waiter) {
          this.#waiters.delete(frame.id)
          return waiter()
        }
        this.answered.set(frame.id, (this.answered.get(frame.id) ?? 0) + 1)
        const kind = frame.code ?? frame.t
        kinds[kind] = (kinds[kind] ?? 0) + 1
      }
    })
    ws.on('close', (code) => {
      this.closed = code
    })
  }

  static async open(
    target: FuzzTarget,
    channel: string,
    token: string,
    kinds: Record<string, number>,
  ): Promise<FuzzSocket> {
    const ws = new WebSocket(target.socketUrl(channel, `v=1&token=${token}`))
    const socket = new FuzzSocket(ws, channel, kinds)
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve()) // hello
      ws.once('error', reject)
    })
    return socket
  }

  send(frame: string | Uint8Array) {
    const expect = expectation(frame)
    if (expect === 'idless') this.expectedIdless++
    else if (expect === 'pong') this.expectedPongs++
    else this.expected.set(expect.id, (this.expected.get(expect.id) ?? 0) + 1)
    this.ws.send(frame, { binary: typeof frame !== 'string' })
  }

  /** Sends a request answered after everything sent before it, and waits for its answer. */
  barrier(id: number): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to barrier ${id} on ${this.channel}`)), 10_000)
      this.#waiters.set(id, () => {
        clearTimeout(timer)
        resolve()
      })
    })
    this.ws.send(`{"t":"unsub","id":${id},"ch":${json(this.channel)}}`)
    return answered
  }

  /** Compares what was expected with what came, then starts counting afresh: [missing, extra]. */
  settle(): [number, number] {
    let missing = 0
    let extra = 0
    for (const id of new Set([...this.expected.keys(), ...this.answered.keys()])) {
      const difference = (this.expected.get(id) ?? 0) - (this.answered.get(id) ?? 0)
      if (difference > 0) missing += difference
      else extra -= difference
    }
    missing += Math.max(0, this.expectedIdless - this.idless) + Math.max(0, this.expectedPongs - this.pongs)
    extra += Math.max(0, this.idless - this.expectedIdless) + Math.max(0, this.pongs - this.expectedPongs)
    this.expected.clear()
    this.answered.clear()
    this.expectedIdless = this.idless = this.expectedPongs = this.pongs = 0
    return [missing, extra]
  }

  /** Whether everything expected has arrived. */
  get complete(): boolean {
    for (const [id, count] of this.expected) if ((this.answered.get(id) ?? 0) < count) return false
    return this.idless >= this.expectedIdless && this.pongs >= this.expectedPongs
  }
}

/**
 * Runs the fuzz against `target` until `options.frames` frames were sent, asserting the properties
 * after every batch (fast-check reports the seed and the smallest failing batch it finds).
 */
export async function fuzzServer(target: FuzzTarget, options: FuzzOptions): Promise<FuzzFigures> {
  const started = Date.now()
  const seed = options.seed ?? Date.now() % 2 ** 31
  const figures: FuzzFigures = {
    seed,
    batches: 0,
    framesSent: 0,
    binaryFrames: 0,
    requests: 0,
    answered: 0,
    answers: {},
    idlessErrors: 0,
    pongs: 0,
    missing: 0,
    extra: 0,
    internalErrors: 0,
    reportedErrors: 0,
    bystanderMessages: 0,
    bystanderGaps: 0,
    ms: 0,
  }
  const bystander = target.client('bystander')
  const seqs: number[] = []
  await bystander.subscribe(['lobby'], (_msg, meta) => seqs.push(meta.seq)).ready
  const sockets: FuzzSocket[] = []
  for (let i = 0; i < 8; i++) {
    const channel = SOCKET_CHANNELS[i % SOCKET_CHANNELS.length] as string
    sockets.push(await FuzzSocket.open(target, channel, `fuzzer-${i}`, figures.answers))
  }
  let barrierId = FIRST_BARRIER_ID
  let marker = 0
  const batch = fc.array(sentFrame, { minLength: 1, maxLength: 80, size: 'medium' })
  const property = fc.asyncProperty(batch, async (frames) => {
    for (const { conn, frame } of frames) {
      const socket = sockets[conn % sockets.length] as FuzzSocket
      const own = json(socket.channel)
      socket.send(typeof frame === 'string' ? frame.replaceAll(OWN, own) : frame)
      figures.framesSent++
      if (typeof frame !== 'string') figures.binaryFrames++
    }
    // A message of the bystander's channel in every batch, among whatever the fuzz published there.
    await target.publish(['lobby'], { marker: ++marker })
    await Promise.all(sockets.map((socket) => socket.barrier(barrierId++)))
    await eventually(() => {
      if (!sockets.every((socket) => socket.complete)) throw new Error('answers still missing')
    }, 2000).catch(() => {})
    figures.batches++
    for (const socket of sockets) {
      figures.requests += [...socket.expected.values()].reduce((sum, count) => sum + count, 0)
      figures.answered += [...socket.answered.values()].reduce((sum, count) => sum + count, 0)
      figures.idlessErrors += socket.idless
      figures.pongs += socket.pongs
      const [missing, extra] = socket.settle()
      figures.missing += missing
      figures.extra += extra
      if (socket.closed !== undefined) throw new Error(`fuzz socket ${socket.channel} closed with ${socket.closed}`)
      if (missing || extra) throw new Error(`${missing} answers missing, ${extra} extra on ${socket.channel}`)
    }
    figures.internalErrors = figures.answers.internal ?? 0
    if (figures.internalErrors > 0) throw new Error(`${figures.internalErrors} internal errors`)
  })
  try {
    for (let round = 0; figures.framesSent < options.frames; round++) {
      await fc.assert(property, { numRuns: 50, seed: seed + round, endOnFailure: true })
    }
    // The bystander got every message of its channel once and in order, and is still served.
    const last = await target.publish(['lobby'], { marker: 'last' })
    await eventually(() => {
      if (seqs.at(-1) !== last.seq) throw new Error(`the bystander is at ${seqs.at(-1)}, the channel at ${last.seq}`)
    })
    figures.bystanderMessages = seqs.length
    figures.bystanderGaps = seqs.filter((seq, i) => seq !== (seqs[0] as number) + i).length
  } finally {
    figures.reportedErrors = target.reported()
    figures.ms = Date.now() - started
    for (const socket of sockets) socket.ws.terminate()
    bystander.disconnect()
  }
  return figures
}

/** The number of frames to fuzz: `FUZZ_FRAMES` (set by `npm run fuzz`), else `fallback`. */
export function fuzzFrames(fallback: number): number {
  const value = Number(process.env.FUZZ_FRAMES)
  return Number.isInteger(value) && value > 0 ? value : fallback
}

/**
 * Fuzzes `target` with `frames` frames (seeded by `FUZZ_SEED` when set) and asserts the properties;
 * prints the figures under `npm run fuzz`.
 */
export async function expectFuzzHolds(name: string, target: FuzzTarget, frames: number): Promise<void> {
  const seed = process.env.FUZZ_SEED
  const figures = await fuzzServer(target, { frames, ...(seed && { seed: Number(seed) }) })
  if (process.env.FUZZ_FRAMES) console.log(`fuzz ${name}: ${JSON.stringify(figures, null, 2)}`)
  expect(figures).toMatchObject({ missing: 0, extra: 0, internalErrors: 0, reportedErrors: 0, bystanderGaps: 0 })
  expect(figures.framesSent).toBeGreaterThanOrEqual(frames)
  expect(figures.bystanderMessages).toBeGreaterThan(figures.batches)
}
