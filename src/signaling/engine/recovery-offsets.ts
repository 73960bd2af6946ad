/**
 * The offsets that connection state recovery tags packets with. socket.io-client remembers the
 * last string argument of each event it received when the server gave it a private session id,
 * and sends it back as `offset` when it reconnects; the server then replays what came after.
 *
 * Offsets are one counter per engine, so they are unique among all its sockets and increase with
 * every packet, prefixed with a random tag of this engine. A client that was given a fresh
 * socket keeps the offset of the previous one until the new one sends it something: the
 * counter tells such an old offset (below the new socket's first) from one of the new socket's,
 * and the tag tells one from another process (after a restart), so that a client which received
 * nothing from its socket still recovers it (socket.io fails there: socketio/socket.io#5538).
 */
import { randomBytes } from 'node:crypto';

/** Offsets longer than this (tag, dot, base-36 counter) are not ours. */
const MAX_OFFSET_LENGTH = 32;

/** One engine's offset counter. */
export class RecoveryOffsets {
  /** 48 random bits, base64url: never a quote or backslash, so it splices into JSON as is. */
  private readonly tag = randomBytes(6).toString('base64url');
  private counter = 0;

  /** The offset the next packet gets; {@link RecoveryOffsets.take} returns it. */
  get next(): number {
    return this.counter;
  }

  /** A new offset, larger than every one before. */
  take(): number {
    return this.counter++;
  }

  /** The string a client sees as the packet's last argument. */
  format(offset: number): string {
    return `${this.tag}.${offset.toString(36)}`;
  }

  /**
   * The offset a client sent back: a number when it is one of this engine's, 'foreign' for any
   * other string (from another process, or not an offset at all: either way the client got
   * nothing from a socket of this engine since).
   */
  parse(text: string): number | 'foreign' {
    const { tag } = this;
    if (text.length > MAX_OFFSET_LENGTH || !text.startsWith(tag) || text.charCodeAt(tag.length) !== 46 /* . */) {
      return 'foreign';
    }
    const digits = text.slice(tag.length + 1);
    if (!/^[0-9a-z]{1,11}$/.test(digits)) return 'foreign';
    const offset = parseInt(digits, 36);
    return offset < this.counter ? offset : 'foreign';
  }
}

/** True when an EVENT packet text (type '2') carries no ack id, so that it gets an offset. */
export function isEventWithoutAckId(text: string): boolean {
  if (text.charCodeAt(0) !== 50 /* '2' */) return false;
  // After the type: an optional '/namespace,' then the ack id digits, if any, then the array.
  const start = text.charCodeAt(1) === 47 /* '/' */ ? text.indexOf(',') + 1 : 1;
  return start > 0 && text.charCodeAt(start) === 91 /* '[' */ && text.charCodeAt(text.length - 1) === 93; /* ']' */
}

/**
 * The EVENT text with `offset` as its last argument, spliced in before the closing bracket: a
 * relayed packet is not decoded and encoded again. The offset needs no JSON escaping (see tag).
 */
export function withOffset(eventText: string, offset: string): string {
  return `${eventText.slice(0, -1)},"${offset}"]`;
}
