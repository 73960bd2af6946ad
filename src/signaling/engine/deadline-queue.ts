/**
 * A FIFO of deadlines that all share one delay, driven by a single timer of an injected clock.
 *
 * Because the delay is constant, deadlines scheduled in order expire in order: the queue is
 * sorted by construction and only its head needs a timer. Tens of thousands of sessions cost
 * one timer, not one each. A cancelled deadline stays in the queue and is skipped when it comes
 * due (lazy cancellation), so cancelling is O(1).
 */
import type { EngineClock } from './clock.js';

/** One scheduled expiry; `cancel()` makes it never fire. */
export class Deadline<T> {
  cancelled = false;

  constructor(
    readonly item: T,
    /** When it fires, on the clock's scale. */
    readonly dueAt: number,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** One delay, many deadlines, one timer. */
export class DeadlineQueue<T> {
  private entries: Deadline<T>[] = [];
  private head = 0;
  private timer: unknown = undefined;
  private timerDueAt = 0;

  constructor(
    /** The delay every deadline in this queue has. */
    readonly delay: number,
    private readonly clock: EngineClock,
    private readonly onExpired: (item: T, deadline: Deadline<T>) => void,
  ) {}

  /** Entries waiting, cancelled ones included. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /**
   * Schedules `item` to expire `delay` ms after `from` (default now). `from` must not go
   * backwards between calls, which keeps the queue sorted.
   */
  schedule(item: T, from: number = this.clock.now()): Deadline<T> {
    const deadline = new Deadline(item, from + this.delay);
    this.entries.push(deadline);
    if (this.timer === undefined) this.arm();
    return deadline;
  }

  /** Drops every entry and the timer. */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.entries = [];
    this.head = 0;
  }

  private arm(): void {
    if (this.head >= this.entries.length) return;
    const dueAt = this.entries[this.head].dueAt;
    this.timerDueAt = dueAt;
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, Math.ceil(dueAt - this.clock.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Math.max(this.clock.now(), this.timerDueAt);
    while (this.head < this.entries.length && this.entries[this.head].dueAt <= now) {
      const deadline = this.entries[this.head];
      this.entries[this.head++] = undefined as never;
      if (deadline.cancelled) continue;
      deadline.cancelled = true;
      try {
        this.onExpired(deadline.item, deadline);
      } catch (error) {
        // An owner's bug must not stall every later deadline; report and carry on.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    this.compact();
    if (this.timer === undefined) this.arm();
  };

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
