/**
 * The engine's deadline queue (src/signaling/engine/deadline-queue.ts) on a simulated clock that
 * also counts its live timers: deadlines fire in order at their due time and not before, a whole
 * queue costs one timer, cancelled and cleared deadlines never fire, and an owner that throws
 * does not stall the deadlines after it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { EngineClock } from '../src/signaling/engine/clock.js';
import { Deadline, DeadlineQueue } from '../src/signaling/engine/deadline-queue.js';

/** xstate's SimulatedClock, counting the timers that are armed and not yet fired or cleared. */
class CountingClock implements EngineClock {
  readonly simulated = new SimulatedClock();
  private readonly live = new Set<unknown>();
  offset = 0;

  get liveTimers(): number {
    return this.live.size;
  }

  now(): number {
    return this.simulated.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle: unknown = this.simulated.setTimeout(() => {
      this.live.delete(handle);
      fn();
    }, ms);
    this.live.add(handle);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.live.delete(handle);
    this.simulated.clearTimeout(handle as never);
  }

  increment(ms: number): void {
    this.simulated.increment(ms);
  }
}

function makeQueue(delay = 100) {
  const clock = new CountingClock();
  const fired: string[] = [];
  const queue = new DeadlineQueue<string>(delay, clock, (item) => fired.push(item));
  return { clock, fired, queue };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('DeadlineQueue', () => {
  it('fires each deadline at its due time, not a millisecond before, in the order scheduled', () => {
    const { clock, fired, queue } = makeQueue();
    queue.add('a');
    clock.increment(40);
    queue.add('b');
    queue.add('c');
    clock.increment(59);
    expect(fired).toEqual([]);
    clock.increment(1);
    expect(fired).toEqual(['a']);
    clock.increment(39);
    expect(fired).toEqual(['a']);
    clock.increment(1);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('counts what waits, and hands out deadlines due in whole milliseconds', () => {
    const { clock, queue } = makeQueue(100);
    expect(queue.delay).toBe(100);
    expect(queue.size).toBe(0);
    clock.offset = 0.25;
    const first = queue.schedule('a');
    expect(first).toBeInstanceOf(Deadline);
    expect(first.dueAt).toBe(101);
    expect(first.cancelled).toBe(false);
    queue.add('b');
    expect(queue.size).toBe(2);
    clock.offset = 0;
    clock.increment(50);
    queue.add('c');
    clock.increment(51);
    // 'a' and 'b' fired, 'c' waits.
    expect(queue.size).toBe(1);
    clock.increment(50);
    expect(queue.size).toBe(0);
  });

  it('keeps one timer for the whole queue, and none once it is empty', () => {
    const { clock, fired, queue } = makeQueue();
    for (let i = 0; i < 50; i += 1) {
      queue.add(`item ${i}`);
      clock.increment(1);
    }
    expect(clock.liveTimers).toBe(1);
    // Now 50: the first ten are due at 100 to 109.
    clock.increment(59);
    expect(fired).toHaveLength(10);
    expect(clock.liveTimers).toBe(1);
    clock.increment(100);
    expect(fired).toHaveLength(50);
    expect(clock.liveTimers).toBe(0);
    queue.add('later');
    expect(clock.liveTimers).toBe(1);
    clock.increment(100);
    expect(fired.at(-1)).toBe('later');
  });

  it('keeps one timer when an owner schedules again from its expiry (a heartbeat does)', () => {
    const clock = new CountingClock();
    const fired: number[] = [];
    const queue: DeadlineQueue<number> = new DeadlineQueue<number>(100, clock, (round) => {
      fired.push(round);
      if (round < 3) queue.add(round + 1);
    });
    queue.add(0);
    for (let i = 0; i < 4; i += 1) {
      expect(clock.liveTimers).toBe(1);
      clock.increment(100);
    }
    expect(fired).toEqual([0, 1, 2, 3]);
    expect(clock.liveTimers).toBe(0);
  });

  it('skips a cancelled deadline, and marks a fired one so that cancelling it later changes nothing', () => {
    const { clock, fired, queue } = makeQueue();
    const a = queue.schedule('a');
    const b = queue.schedule('b');
    const c = queue.schedule('c');
    b.cancel();
    expect(b.cancelled).toBe(true);
    clock.increment(100);
    expect(fired).toEqual(['a', 'c']);
    // A deadline that fired reads as done, for owners that check it.
    expect(a.cancelled).toBe(true);
    expect(c.cancelled).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('fires nothing and holds no timer after clear(), and works again after', () => {
    const { clock, fired, queue } = makeQueue();
    queue.add('a');
    queue.schedule('b');
    queue.clear();
    expect(queue.size).toBe(0);
    expect(clock.liveTimers).toBe(0);
    clock.increment(50);
    queue.add('c');
    expect(clock.liveTimers).toBe(1);
    clock.increment(100);
    expect(fired).toEqual(['c']);
    queue.clear();
    expect(clock.liveTimers).toBe(0);
  });

  it('reports an owner that throws and still fires every later deadline', () => {
    const reported: unknown[] = [];
    // The queue rethrows in a microtask (an uncaught error for the process to report); capture it here instead.
    vi.stubGlobal('queueMicrotask', (task: () => void) => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    });
    const clock = new CountingClock();
    const fired: string[] = [];
    const queue = new DeadlineQueue<string>(10, clock, (item) => {
      if (item === 'bad') throw new Error('owner bug');
      fired.push(item);
    });
    queue.add('a');
    queue.add('bad');
    queue.add('b');
    clock.increment(10);
    expect(fired).toEqual(['a', 'b']);
    expect(reported).toEqual([new Error('owner bug')]);
    queue.add('c');
    clock.increment(10);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('keeps firing in order across the compaction of a long queue', () => {
    const { clock, fired, queue } = makeQueue(2000);
    const expected: string[] = [];
    // 3000 deadlines a millisecond apart, the i-th due at 2000 + i: the queue's head passes 1024
    // and it compacts as it drains.
    for (let i = 0; i < 3000; i += 1) {
      const item = `d${i}`;
      expected.push(item);
      const deadline = queue.schedule(item);
      if (i % 7 === 3) {
        deadline.cancel();
        expected.pop();
      }
      clock.increment(1);
    }
    expect(fired).toEqual(expected.slice(0, expected.indexOf('d1000') + 1));
    clock.increment(1500);
    expect(fired).toEqual(expected.slice(0, expected.indexOf('d2500') + 1));
    expect(queue.size).toBe(499);
    // Compacted: what is left still fires each at its own time.
    clock.increment(1);
    expect(fired.at(-1)).toBe('d2501');
    expect(queue.size).toBe(498);
    clock.increment(500);
    expect(fired).toEqual(expected);
    expect(queue.size).toBe(0);
    expect(clock.liveTimers).toBe(0);
  });

  /** Entries the queue's arrays hold, fired ones included: what compaction bounds. */
  const stored = (queue: DeadlineQueue<string>): number => (queue as unknown as { items: unknown[] }).items.length;

  it('holds no storage once drained', () => {
    const { clock, queue } = makeQueue(100);
    for (let i = 0; i < 500; i += 1) queue.add(`d${i}`);
    clock.increment(100);
    expect(stored(queue)).toBe(0);
  });

  it('keeps its storage bounded under a steady stream that never drains it', () => {
    // One deadline a millisecond, each due 100 ms later (about 100 waiting at any time), and one due
    // 3000 ms later (about 3000 waiting): fired entries are cut off once they are over half.
    for (const delay of [100, 3000]) {
      const { clock, queue } = makeQueue(delay);
      for (let i = 0; i < 20_000; i += 1) {
        queue.add(`d${i}`);
        clock.increment(1);
      }
      expect(queue.size).toBe(delay - 1);
      expect(stored(queue)).toBeLessThanOrEqual(2 * Math.max(delay, 1025));
    }
  });
});
