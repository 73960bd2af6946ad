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
  readonly tag = randomBytes(6).toString('base64url');
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
    const offset = parseOffsetOf(this.tag, text);
    return offset !== 'foreign' && offset < this.counter ? offset : 'foreign';
  }
}

/**
 * An offset string of the engine whose tag is `tag` (this one's, or another node's: see
 * ./shared-session-store.ts), as a number; 'foreign' for any other string.
 */
export function parseOffsetOf(tag: string, text: string): number | 'foreign' {
  if (text.length > MAX_OFFSET_LENGTH || !text.startsWith(tag) || text.charCodeAt(tag.length) !== 46 /* . */) {
    return 'foreign';
  }
  const digits = text.slice(tag.length + 1);
  if (!/^[0-9a-z]{1,11}$/.test(digits)) return 'foreign';
  return parseInt(digits, 36);
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

/**
 * The EVENT text `withOffset` made, without its offset: for a packet handed to another node,
 * which tags it with its own. The offset is the last argument and holds no `,"`.
 */
export function withoutOffset(eventText: string): string {
  return `${eventText.slice(0, eventText.lastIndexOf(',"'))}]`;
}
