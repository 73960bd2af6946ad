/**
 * Sessions the server ended while their client was polling with no GET pending, kept so that
 * the client's next GET gets the close packet `1` instead of 400 "Session ID unknown" (what
 * engine.io does: its socket lingers, closing, until that GET).
 *
 * Here the session is already `closed` (a final state of the session machine) and forgotten;
 * a tombstone is transport cleanup, not lifecycle, and holds only the sid. It lasts
 * `pingInterval + pingTimeout`, the longest a live client goes without a GET before its own
 * heartbeat gives up, and at most `capacity` are kept (the oldest go first). Expiry is one
 * {@link DeadlineQueue}; a sid is never reused, so its stale entries need no ticket.
 */
import type { EngineClock } from './clock.js';
import { DeadlineQueue } from './deadline-queue.js';

/** How many tombstones a server keeps by default (a sid and a queue slot each: ~100 bytes). */
const DEFAULT_CAPACITY = 10_000;

/** Recently closed polling sessions whose client has not been told yet. */
export class PollingTombstones {
  private readonly sids = new Set<string>();
  private readonly expiry: DeadlineQueue<string>;

  constructor(
    /** ms a tombstone lasts. */
    lifetime: number,
    clock: EngineClock,
    private readonly capacity: number = DEFAULT_CAPACITY,
  ) {
    this.expiry = new DeadlineQueue<string>(lifetime, clock, (sid) => {
      this.sids.delete(sid);
    });
  }

  /** Tombstones kept. */
  get size(): number {
    return this.sids.size;
  }

  /** Remembers that session `sid` was closed with no GET to tell its client. */
  add(sid: string): void {
    if (this.sids.size >= this.capacity) {
      // Sets iterate in insertion order: the first is the oldest.
      for (const oldest of this.sids) {
        this.sids.delete(oldest);
        break;
      }
    }
    this.sids.add(sid);
    this.expiry.schedule(sid);
  }

  /** Forgets every tombstone. */
  clear(): void {
    this.sids.clear();
    this.expiry.clear();
  }

  /** True, once, if `sid` has a tombstone; it is gone afterwards. */
  take(sid: string): boolean {
    return this.sids.delete(sid);
  }
}
