/**
 * The Socket.IO packet codec as the engine uses it: socket.io-parser's own Encoder and Decoder,
 * one pair per server, plus the checks the parser leaves to servers (a payload that must be
 * there, event names, ack ids, nesting depth, attachment counts).
 *
 * A text packet (every type but BINARY_EVENT / BINARY_ACK) decodes synchronously and leaves no
 * state in the Decoder, so one Decoder serves every session for text. Only a binary packet
 * needs a Decoder of its own, to collect its attachments across frames.
 */
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';
import type { ClientFault } from '../../machines/engine-session-machine.js';
import type { ResolvedEngineOptions } from './engine-options.js';

/** Why a packet is refused: the fault the client is closed with, and a detail for the log. */
export interface PacketFault {
  readonly fault: ClientFault;
  readonly detail: string;
}

type CodecLimits = Pick<ResolvedEngineOptions, 'maxEventNameLength' | 'maxAckId' | 'maxDepth' | 'maxAttachments'>;

/** True when the packet text starts a BINARY_EVENT or BINARY_ACK ('5' or '6'). */
export function isBinaryPacketText(text: string): boolean {
  const type = text.charCodeAt(0);
  return type === 53 || type === 54;
}

/** One server's encoder, shared text decoder and packet checks. */
export class SocketIoCodec {
  private readonly encoder = new Encoder();
  private readonly textDecoder = new Decoder();
  private decoded: Packet | undefined;

  constructor(private readonly limits: CodecLimits) {
    this.textDecoder.on('decoded', (packet: Packet) => {
      this.decoded = packet;
    });
  }

  /** Decodes one non-binary packet text; throws on malformed input, like socket.io-parser. */
  decodeText(text: string): Packet {
    this.decoded = undefined;
    this.textDecoder.add(text);
    const packet = this.decoded;
    this.decoded = undefined;
    if (packet === undefined) throw new Error('socket.io packet did not decode');
    return packet;
  }

  /**
   * The namespace of a CONNECT whose payload the decoder refused, read by decoding only the
   * packet's head (type and namespace); undefined if even that fails.
   */
  namespaceOfRefusedConnect(text: string): string | undefined {
    const comma = text.charCodeAt(1) === 47 /* '/' */ ? text.indexOf(',') : 0;
    if (comma < 0) return undefined;
    try {
      return this.decodeText(text.slice(0, comma + 1)).nsp;
    } catch {
      return undefined;
    }
  }

  /** A fresh Decoder for one binary packet and its attachments. */
  createBinaryDecoder(): Decoder {
    return new Decoder();
  }

  /** Encodes a packet: its text, then one Buffer per binary attachment. */
  encode(packet: Packet): [string, ...Buffer[]] {
    return this.encoder.encode(packet) as [string, ...Buffer[]];
  }

  /** The attachment count a binary header announces, or a fault when it is over the limit or unreadable. */
  checkBinaryHeader(text: string): PacketFault | undefined {
    const dash = text.indexOf('-');
    const digits = dash < 0 ? '' : text.slice(1, dash);
    if (!/^\d{1,9}$/.test(digits)) return { fault: 'parse error', detail: 'binary packet without an attachment count' };
    const count = Number(digits);
    if (count > this.limits.maxAttachments) {
      return {
        fault: 'limit exceeded',
        detail: `${count} attachments announced, at most ${this.limits.maxAttachments}`,
      };
    }
    return undefined;
  }

  /** Checks what socket.io-parser lets through but a server must not act on. */
  checkPacket(packet: Packet): PacketFault | undefined {
    const { id } = packet;
    if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0 && id <= this.limits.maxAckId)) {
      return { fault: 'parse error', detail: `ack id out of range (0 to ${this.limits.maxAckId})` };
    }
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT: {
        const args: unknown = packet.data;
        if (!Array.isArray(args) || args.length === 0) return { fault: 'parse error', detail: 'event without a name' };
        const name: unknown = args[0];
        if (typeof name !== 'string' && typeof name !== 'number') {
          return { fault: 'parse error', detail: 'event name is not a string' };
        }
        if (typeof name === 'string' && name.length > this.limits.maxEventNameLength) {
          return {
            fault: 'limit exceeded',
            detail: `event name of ${name.length} characters, at most ${this.limits.maxEventNameLength}`,
          };
        }
        return this.checkDepth(args);
      }
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        if (id === undefined || !Array.isArray(packet.data)) return { fault: 'parse error', detail: 'malformed ack' };
        return this.checkDepth(packet.data);
      default:
        return undefined;
    }
  }

  private checkDepth(args: unknown[]): PacketFault | undefined {
    if (exceedsDepth(args, this.limits.maxDepth)) {
      return { fault: 'limit exceeded', detail: `arguments nested deeper than ${this.limits.maxDepth}` };
    }
    return undefined;
  }
}

/**
 * True when `value` nests arrays or objects more than `max` deep (the top-level array is depth 1).
 * Walks nodes, not bytes: a signaling message is a handful of nodes whatever the size of its SDP.
 */
export function exceedsDepth(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  if (Array.isArray(value)) {
    for (const child of value) if (exceedsDepth(child, max - 1)) return true;
    return false;
  }
  for (const key in value) if (exceedsDepth((value as Record<string, unknown>)[key], max - 1)) return true;
  return false;
}
