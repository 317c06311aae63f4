/**
 * An outgoing frame. The engine builds each broadcast frame once and hands the same object to every
 * subscriber's sink; a preset may cache its encoded form (bytes, a prebuilt WebSocket frame) in
 * `encoded` so the encoding also happens once.
 */
export class Frame {
  /** Preset-owned cache of the encoded frame. */
  encoded: unknown = undefined
  constructor(readonly text: string) {}
}
