/**
 * The packets emitted to one socket that its client may not have read yet, kept with their
 * offsets for connection state recovery (see ./connection-state-recovery.ts).
 *
 * A packet is known to be read once the client answered an Engine.IO ping written after it: a
 * transport delivers in order, and a polling session counts a pong only once its ping went out
 * in a response. So the socket marks the last packet it wrote when a ping is written, and the
 * log drops everything up to that mark when the pong comes. The log is bounded in packets and
 * bytes besides; what it drops past those bounds moves the same line, `discardedThrough`: a
 * client that had not read that far cannot be given its session back (it would miss packets).
 */

/** A retained packet: its text, or its text and binary attachments. */
export type RetainedPacket = string | readonly [string, ...Buffer[]];

/** The bounds of one log. */
export interface RetainedLogBounds {
  readonly maxRetainedPackets: number;
  readonly maxRetainedBytes: number;
}

function sizeOf(packet: RetainedPacket): number {
  if (typeof packet === 'string') return packet.length;
  let bytes = 0;
  for (const part of packet) bytes += part.length;
  return bytes;
}

/** One socket's retained packets, oldest first. */
export class RetainedLog {
  /**
   * Offsets and packets interleaved (`[offset, packet, offset, packet, ...]`) from `head` on: one
   * array per socket, and none while nothing is retained (most sockets, most of the time).
   */
  private entries: (number | RetainedPacket | undefined)[] | null = null;
  private head = 0;
  /** Bytes retained now. */
  bytes = 0;
  /** Every packet at or below this offset is gone from the log (read, or dropped past the bounds). */
  discardedThrough: number;
  /** The last offset given to a packet of this socket. */
  lastOffset: number;
  /** The last offset written to the transport carrying the socket now. */
  writtenThrough: number;
  /** The last offset written before the ping now awaiting its pong. */
  pingMark: number;

  constructor(
    /** The first offset this socket can get: anything below is from before it existed. */
    readonly firstOffset: number,
    private readonly bounds: RetainedLogBounds,
  ) {
    this.discardedThrough = this.lastOffset = this.writtenThrough = this.pingMark = firstOffset - 1;
  }

  /** Packets retained now. */
  get size(): number {
    return this.entries === null ? 0 : (this.entries.length - this.head) / 2;
  }

  /** Keeps `packet` at `offset` (larger than every offset before), dropping the oldest past the bounds. */
  append(offset: number, packet: RetainedPacket): void {
    (this.entries ??= []).push(offset, packet);
    this.lastOffset = offset;
    this.bytes += sizeOf(packet);
    const { maxRetainedPackets, maxRetainedBytes } = this.bounds;
    while (this.size > 0 && (this.size > maxRetainedPackets || this.bytes > maxRetainedBytes)) this.dropOldest();
  }

  /** The client read everything up to the ping mark (it answered that ping). */
  pongReceived(): void {
    const mark = this.pingMark;
    while (this.size > 0 && this.oldestOffset() <= mark) this.dropOldest();
    if (mark > this.discardedThrough) this.discardedThrough = mark;
  }

  /**
   * What to replay to a client that read everything up to `clientOffset` (`firstOffset - 1`
   * when it read nothing of this socket's): the packets after it, oldest first, or undefined
   * when that is impossible (it missed packets the log no longer has, or names one never sent).
   * On success the packets the client has are dropped and the log starts over on a new transport.
   */
  replayAfter(clientOffset: number): RetainedPacket[] | undefined {
    if (clientOffset < this.discardedThrough || clientOffset > this.lastOffset) return undefined;
    while (this.size > 0 && this.oldestOffset() <= clientOffset) this.dropOldest();
    this.discardedThrough = clientOffset;
    this.writtenThrough = this.pingMark = clientOffset;
    const replay: RetainedPacket[] = [];
    const { entries } = this;
    if (entries !== null)
      for (let i = this.head + 1; i < entries.length; i += 2) replay.push(entries[i] as RetainedPacket);
    return replay;
  }

  /** The packets retained now with their offsets, oldest first (for another node: ./shared-session-store.ts). */
  retained(): Array<{ offset: number; packet: RetainedPacket }> {
    const result: Array<{ offset: number; packet: RetainedPacket }> = [];
    const { entries } = this;
    if (entries !== null) {
      for (let i = this.head; i < entries.length; i += 2) {
        result.push({ offset: entries[i] as number, packet: entries[i + 1] as RetainedPacket });
      }
    }
    return result;
  }

  /** Forgets every packet. */
  clear(): void {
    this.entries = null;
    this.head = 0;
    this.bytes = 0;
  }

  private oldestOffset(): number {
    return this.entries![this.head] as number;
  }

  private dropOldest(): void {
    const entries = this.entries!;
    const index = this.head;
    this.head += 2;
    this.discardedThrough = entries[index] as number;
    this.bytes -= sizeOf(entries[index + 1] as RetainedPacket);
    entries[index + 1] = undefined;
    if (this.head === entries.length) {
      this.clear();
    } else if (this.head > 128 && this.head * 2 > entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
  }
}
