import type { Frame } from '@tanstack/realtime/server'

/**
 * Encodes a server-to-client WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked) into one
 * buffer, cached on the frame so a broadcast is encoded once for every subscriber. (Not `ws`'s
 * `Sender.frame`: it needs the text as a Buffer first and returns the header and the payload as two
 * buffers, two `writev` entries for every subscriber.)
 *
 * @internal
 */
export function encodeTextFrame(frame: Frame): Buffer {
  if (frame.encoded instanceof Buffer) return frame.encoded
  const length = Buffer.byteLength(frame.text)
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const bytes = Buffer.allocUnsafe(headerLength + length)
  bytes[0] = 0x81
  if (length < 126) bytes[1] = length
  else if (length < 65_536) {
    bytes[1] = 126
    bytes.writeUInt16BE(length, 2)
  } else {
    bytes[1] = 127
    bytes.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    bytes.writeUInt32BE(length >>> 0, 6)
  }
  bytes.write(frame.text, headerLength, 'utf8')
  frame.encoded = bytes
  return bytes
}
