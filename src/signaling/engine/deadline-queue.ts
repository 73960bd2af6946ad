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
export class Deadline {
  cancelled = false;

  constructor(
    /** When it fires, on the clock's scale. */
    readonly dueAt: number,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/**
 * One delay, many deadlines, one timer. Entries live in parallel arrays with a head index. A
 * deadline that may need cancelling gets a {@link Deadline} handle ({@link DeadlineQueue.schedule});
 * one whose owner checks its own state on expiry allocates nothing ({@link DeadlineQueue.add}).
 */
export class DeadlineQueue<T> {
  private items: (T | undefined)[] = [];
  private dueTimes: number[] = [];
  private handles: (Deadline | null)[] = [];
  private head = 0;
  private timer: unknown = undefined;
  private timerDueAt = 0;

  constructor(
    /** The delay every deadline in this queue has. */
    readonly delay: number,
    private readonly clock: EngineClock,
    private readonly onExpired: (item: T) => void,
  ) {}

  /** Entries waiting, cancelled ones included. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Schedules `item` to expire `delay` ms from now, with a handle to cancel it. */
  schedule(item: T): Deadline {
    // Whole milliseconds: a small integer lives in the handle itself, a fraction in a heap box.
    const handle = new Deadline(Math.ceil(this.push(item, null)));
    this.handles[this.handles.length - 1] = handle;
    return handle;
  }

  /** Schedules `item` to expire `delay` ms from now; its owner ignores an expiry it no longer needs. */
  add(item: T): void {
    this.push(item, null);
  }

  /** Drops every entry and the timer. */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.dueTimes = [];
    this.handles = [];
    this.head = 0;
  }

  /** Appends an entry (times never go backwards, so the queue stays sorted); returns its due time. */
  private push(item: T, handle: Deadline | null): number {
    const dueAt = this.clock.now() + this.delay;
    this.items.push(item);
    this.dueTimes.push(dueAt);
    this.handles.push(handle);
    if (this.timer === undefined) this.arm();
    return dueAt;
  }

  private arm(): void {
    if (this.head >= this.items.length) return;
    const dueAt = this.dueTimes[this.head];
    this.timerDueAt = dueAt;
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, Math.ceil(dueAt - this.clock.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Math.max(this.clock.now(), this.timerDueAt);
    while (this.head < this.items.length && this.dueTimes[this.head] <= now) {
      const index = this.head++;
      const item = this.items[index] as T;
      const handle = this.handles[index];
      this.items[index] = undefined;
      this.handles[index] = null;
      if (handle !== null) {
        if (handle.cancelled) continue;
        handle.cancelled = true;
      }
      try {
        this.onExpired(item);
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
      this.items.length = this.dueTimes.length = this.handles.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.dueTimes = this.dueTimes.slice(this.head);
      this.handles = this.handles.slice(this.head);
      this.head = 0;
    }
  }
}
