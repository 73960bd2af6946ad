/**
 * Groups inspection events into batches for the `inspect` socket event: one batch every
 * `intervalMs` at most, each of at most `maxEvents` events and `maxBytes` bytes of JSON, so a
 * busy machine costs the signaling connection a few messages a second, each within the server's
 * limits (INSPECT_LIMITS). The queue is bounded: past `maxQueued` events it is dropped whole and
 * `onOverflow` is told, so the publisher can start again from a fresh announcement.
 */

/** How to batch. */
export interface InspectionBatcherOptions<T> {
  /** Sends one batch. */
  readonly send: (batch: T[]) => void;
  /** Time between batches, and the longest an event waits; default 100 ms. */
  readonly intervalMs?: number;
  /** Most events in one batch; default 100. */
  readonly maxEvents?: number;
  /** Most bytes of JSON (UTF-8) in one batch, brackets and commas included; default 64 KiB. */
  readonly maxBytes?: number;
  /** Most events waiting; default 1,000. */
  readonly maxQueued?: number;
  /** Called with an event that alone exceeds `maxBytes`, which is dropped. */
  readonly onOversized?: (event: T, bytes: number) => void;
  /** Called after the queue overflowed and was dropped. */
  readonly onOverflow?: (dropped: number) => void;
  /** The timer source; tests pass fakes. */
  readonly timers?: {
    readonly setTimeout: (callback: () => void, ms: number) => unknown;
    readonly clearTimeout: (handle: unknown) => void;
  };
}

/** A batcher: push events, they are sent in order. */
export interface InspectionBatcher<T> {
  /** Queues `event`. */
  push(event: T): void;
  /** Sends everything queued now, in as many batches as it takes (before the socket goes). */
  flush(): void;
  /** Drops what is queued, unsent. */
  clear(): void;
  /** Events queued. */
  readonly size: number;
}

const encoder = new TextEncoder();

/** Creates a batcher that calls `options.send` with each batch. */
export function createInspectionBatcher<T>(options: InspectionBatcherOptions<T>): InspectionBatcher<T> {
  const intervalMs = options.intervalMs ?? 100;
  const maxEvents = options.maxEvents ?? 100;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxQueued = options.maxQueued ?? 1_000;
  const timers = options.timers ?? {
    setTimeout: (callback: () => void, ms: number) => globalThis.setTimeout(callback, ms),
    clearTimeout: (handle: unknown) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  };

  let queue: { event: T; bytes: number }[] = [];
  let timer: unknown;

  const cancelTimer = () => {
    if (timer === undefined) return;
    timers.clearTimeout(timer);
    timer = undefined;
  };

  /** Takes the first batch off the queue: as many events as fit. */
  const sendOne = () => {
    // `[` and `]`, then each event and a comma between two.
    let bytes = 2;
    let count = 0;
    for (const item of queue) {
      const added = item.bytes + (count === 0 ? 0 : 1);
      if (count === maxEvents || bytes + added > maxBytes) break;
      bytes += added;
      count++;
    }
    const batch = queue.slice(0, count).map((item) => item.event);
    queue = queue.slice(count);
    options.send(batch);
  };

  const tick = () => {
    timer = undefined;
    if (queue.length === 0) return;
    sendOne();
    if (queue.length > 0) timer = timers.setTimeout(tick, intervalMs);
  };

  return {
    push(event) {
      const bytes = encoder.encode(JSON.stringify(event)).length;
      if (bytes + 2 > maxBytes) {
        options.onOversized?.(event, bytes);
        return;
      }
      queue.push({ event, bytes });
      if (queue.length > maxQueued) {
        const dropped = queue.length;
        queue = [];
        cancelTimer();
        options.onOverflow?.(dropped);
        return;
      }
      timer ??= timers.setTimeout(tick, intervalMs);
    },
    flush() {
      cancelTimer();
      while (queue.length > 0) sendOne();
    },
    clear() {
      cancelTimer();
      queue = [];
    },
    get size() {
      return queue.length;
    },
  };
}
