/**
 * A FIFO of deadlines that all share one delay, driven by a single timer.
 *
 * Because the delay is constant, deadlines scheduled in order expire in order: the queue is
 * sorted by construction and only its head needs a timer. Tens of thousands of sessions cost
 * one `setTimeout`, not one each. Entries are never removed early: the owner keeps the
 * ticket of its live entry and ignores an expiry whose ticket is stale (lazy cancellation).
 * Storage is three parallel arrays with a head index, so scheduling allocates nothing.
 */

/** Called for each expired entry with the ticket and due time it was scheduled with. */
export type DeadlineExpired<T> = (item: T, ticket: number, dueAt: number) => void;

/** Milliseconds on a monotonic clock shared by every queue. */
export function monotonicNow(): number {
  return performance.now();
}

let nextTicket = 1;

/** One delay, many deadlines, one timer. */
export class DeadlineQueue<T> {
  private items: (T | undefined)[] = [];
  private dueTimes: number[] = [];
  private tickets: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = 0;

  constructor(
    /** The delay every deadline in this queue has. */
    readonly delay: number,
    private readonly onExpired: DeadlineExpired<T>,
  ) {}

  /** Entries waiting, stale ones included. */
  get size(): number {
    return this.items.length - this.head;
  }

  /**
   * Schedules `item` to expire `delay` ms after `from` (default now) and returns its ticket.
   * `from` must not go backwards between calls, which keeps the queue sorted.
   */
  schedule(item: T, from: number = monotonicNow()): number {
    const ticket = nextTicket++;
    this.items.push(item);
    this.dueTimes.push(from + this.delay);
    this.tickets.push(ticket);
    if (this.timer === undefined) this.arm();
    return ticket;
  }

  /** Drops every entry and the timer. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.dueTimes = [];
    this.tickets = [];
    this.head = 0;
  }

  private arm(): void {
    if (this.head >= this.items.length) return;
    const dueAt = this.dueTimes[this.head];
    this.timerDueAt = dueAt;
    this.timer = setTimeout(this.expire, Math.max(0, Math.ceil(dueAt - monotonicNow())));
    // A deadline must never keep the process alive on its own.
    this.timer.unref();
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Math.max(monotonicNow(), this.timerDueAt);
    while (this.head < this.items.length && this.dueTimes[this.head] <= now) {
      const index = this.head++;
      const item = this.items[index] as T;
      this.items[index] = undefined;
      try {
        this.onExpired(item, this.tickets[index], this.dueTimes[index]);
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
    if (this.head === this.items.length) {
      this.items.length = this.dueTimes.length = this.tickets.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.dueTimes = this.dueTimes.slice(this.head);
      this.tickets = this.tickets.slice(this.head);
      this.head = 0;
    }
  }
}
