/**
 * One viewer of the inspection stream, with the backpressure rule that keeps a slow one from
 * holding memory: a frame is written only while less than `maxBufferedBytes` wait in the
 * socket; beyond that frames are dropped and counted. Once the socket drains, the viewer gets a
 * marker saying how many were dropped and then the whole current picture again (every live
 * actor with its current snapshot), paced by the socket as the first picture was, so it ends
 * up right despite the gap. A viewer that stays over the limit for `maxOverflowMs` is closed
 * with 1008.
 */

/** The part of a uWebSockets.js WebSocket a viewer uses. */
export interface ViewerSocket {
  /** uWS: 1 sent, 0 sent but buffered, 2 dropped over `maxBackpressure`. */
  send(frame: string): number;
  getBufferedAmount(): number;
  end(code: number, reason: string): void;
}

/** A viewer's limits. */
export interface ViewerLimits {
  /** Bytes waiting in the socket above which frames are dropped. */
  readonly maxBufferedBytes: number;
  /** How long a viewer may keep dropping before it is closed with 1008. */
  readonly maxOverflowMs: number;
}

/** What a viewer asks of the hub. */
export interface ViewerSource {
  /** Frames of every live actor with its current snapshot, made one at a time as they are taken. */
  picture(): Iterator<string>;
  /** A frame saying that `count` frames were dropped for this viewer. */
  dropMarker(count: number): string;
  now(): number;
}

/** uWS's `send` result for a frame it refused over `maxBackpressure`. */
const SEND_DROPPED = 2;

/** One connected viewer. */
export class InspectionViewer {
  /** Frames dropped since the last marker. */
  #dropped = 0;
  /** Frames dropped in all, for stats. */
  droppedTotal = 0;
  /** Since when the viewer has been dropping, while it is. */
  #overflowSince: number | undefined;
  /** The picture being sent, while it is. */
  #picture: Iterator<string> | undefined;
  #closed = false;

  constructor(
    private readonly socket: ViewerSocket,
    private readonly source: ViewerSource,
    private readonly limits: ViewerLimits,
  ) {}

  /** Sends the current picture, then live frames follow through {@link deliver}. */
  start(): void {
    this.#picture = this.source.picture();
    this.drained();
  }

  /** A live frame: written, or dropped while the socket holds too much. */
  deliver(frame: string): void {
    if (this.#closed) return;
    if (this.socket.getBufferedAmount() < this.limits.maxBufferedBytes && this.socket.send(frame) !== SEND_DROPPED)
      return;
    this.#drop();
  }

  /** The socket drained some: go on with the picture, or start a new one after drops. */
  drained(): void {
    const { maxBufferedBytes } = this.limits;
    while (!this.#closed) {
      if (this.#picture === undefined) {
        // Nothing was lost, or the socket is still too full to start over: wait for the next drain.
        if (this.#dropped === 0 || this.socket.getBufferedAmount() >= maxBufferedBytes / 2) break;
        this.socket.send(this.source.dropMarker(this.#dropped));
        this.#dropped = 0;
        this.#picture = this.source.picture();
      }
      if (!this.#sendPicture(this.#picture, maxBufferedBytes)) break;
      this.#picture = undefined;
    }
    if (this.#picture === undefined && this.#dropped === 0) this.#overflowSince = undefined;
  }

  /** The socket closed (or is being closed): nothing more goes to it. */
  closed(): void {
    this.#closed = true;
    this.#picture = undefined;
  }

  /** Closes the socket with `code`. */
  end(code: number, reason: string): void {
    if (this.#closed) return;
    this.closed();
    this.socket.end(code, reason);
  }

  /** Sends picture frames while the socket takes them; true once the picture is all sent. */
  #sendPicture(picture: Iterator<string>, maxBufferedBytes: number): boolean {
    while (this.socket.getBufferedAmount() < maxBufferedBytes) {
      const next = picture.next();
      if (next.done === true) return true;
      if (this.socket.send(next.value) === SEND_DROPPED) this.#drop();
      if (this.#closed) return false;
    }
    return false;
  }

  #drop(): void {
    this.#dropped += 1;
    this.droppedTotal += 1;
    const now = this.source.now();
    this.#overflowSince ??= now;
    if (now - this.#overflowSince > this.limits.maxOverflowMs) {
      this.end(1008, 'inspector viewer too slow');
    }
  }
}
