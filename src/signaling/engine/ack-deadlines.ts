/**
 * Deadlines of server-to-client acknowledgements (`socket.timeout(ms).emitWithAck(...)`).
 *
 * A {@link DeadlineQueue} needs one delay for all its entries, and `timeout()` takes any delay,
 * but an application uses a handful: each distinct delay gets a queue of its own, so all the
 * acks awaited with the same timeout share one timer instead of a timer each. Queues left empty
 * are dropped once there are more than a few. One instance per server.
 */
import type { EngineClock } from './clock.js';
import { DeadlineQueue } from './deadline-queue.js';

/** An emit waiting for its ACK, as its deadline sees it. */
export interface AckDeadline {
  /** Called when the deadline passed; ignores it if the ack already settled. */
  expire(timeoutMs: number): void;
}

/** How many queues may exist before empty ones are dropped. */
const QUEUES_KEPT = 16;

/** Throws a RangeError unless `timeoutMs` is a usable ack timeout (finite, not negative). */
export function checkAckTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`Ack timeout must be a finite number of milliseconds >= 0, got ${timeoutMs}.`);
  }
}

/** One server's ack deadlines, a queue per distinct timeout. */
export class AckDeadlines {
  private readonly queues = new Map<number, DeadlineQueue<AckDeadline>>();

  constructor(private readonly clock: EngineClock) {}

  /** Calls `pending.expire(timeoutMs)` once `timeoutMs` has passed. */
  schedule(pending: AckDeadline, timeoutMs: number): void {
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) {
      if (this.queues.size >= QUEUES_KEPT) {
        // An empty queue has no timer armed: dropping it loses nothing.
        for (const [delay, idle] of this.queues) if (idle.size === 0) this.queues.delete(delay);
      }
      queue = new DeadlineQueue<AckDeadline>(timeoutMs, this.clock, (item) => item.expire(timeoutMs));
      this.queues.set(timeoutMs, queue);
    }
    queue.schedule(pending);
  }

  clear(): void {
    for (const queue of this.queues.values()) queue.clear();
    this.queues.clear();
  }
}
