/**
 * The Socket.IO packet codec as the engine uses it: socket.io-parser's own Encoder and Decoder,
 * shared where that is safe.
 *
 * A text packet (every type but BINARY_EVENT / BINARY_ACK) decodes synchronously and leaves no
 * state in the Decoder, so one Decoder serves every session for text. Only a binary packet
 * needs a Decoder of its own, to collect its attachments across frames; the session creates it
 * when such a packet arrives and drops it once the packet is whole.
 */
import { Decoder, Encoder, type Packet } from 'socket.io-parser';

const encoder = new Encoder();
const sharedTextDecoder = new Decoder();
let lastDecoded: Packet | undefined;
sharedTextDecoder.on('decoded', (packet: Packet) => {
  lastDecoded = packet;
});

/** True when the packet text starts a BINARY_EVENT or BINARY_ACK ('5' or '6'). */
export function isBinaryPacketText(text: string): boolean {
  const type = text.charCodeAt(0);
  return type === 53 || type === 54;
}

/** Decodes one non-binary packet text; throws on malformed input, like socket.io-parser. */
export function decodeTextPacket(text: string): Packet {
  lastDecoded = undefined;
  sharedTextDecoder.add(text);
  const packet = lastDecoded;
  lastDecoded = undefined;
  if (packet === undefined) throw new Error('socket.io packet did not decode');
  return packet;
}

/**
 * The namespace of a CONNECT whose payload the decoder refused, read by decoding only the
 * packet's head (type and namespace) with the official decoder; undefined if even that fails.
 */
export function namespaceOfRefusedConnect(text: string): string | undefined {
  const comma = text.charCodeAt(1) === 47 /* '/' */ ? text.indexOf(',') : 0;
  if (comma < 0) return undefined;
  try {
    return decodeTextPacket(text.slice(0, comma + 1)).nsp;
  } catch {
    return undefined;
  }
}

/** A fresh Decoder for one binary packet and its attachments. */
export function createBinaryDecoder(): Decoder {
  return new Decoder();
}

/** Encodes a packet: its text, then one Buffer per binary attachment. */
export function encodeSocketIoPacket(packet: Packet): [string, ...Buffer[]] {
  return encoder.encode(packet) as [string, ...Buffer[]];
}
