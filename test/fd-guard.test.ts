/**
 * The fd guard's decisions, on a simulated clock with a fake descriptor count: when it pauses
 * and resumes, how often it samples, and what it does when counting or listening fails.
 * test/fd-guard.process.test.ts runs the real thing at a real limit.
 */
import { SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  FdGuard,
  MAX_SAMPLE_INTERVAL_MS,
  MIN_SAMPLE_INTERVAL_MS,
  defaultFdReserve,
  type PausableListener,
} from '../src/signaling/fd-guard.js';

const LIMIT = 20_000;
const RESERVE = 200; // the default at this limit: pause at 19,800 open, resume below 19,600

/** A guard over a fake listener and a descriptor count the test sets, with every call recorded. */
function guarded(options: { count?: () => number; resumeSucceeds?: () => boolean } = {}) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  const lines: { level: 'warn' | 'info'; message: string; fields: Record<string, unknown> }[] = [];
  const samples: number[] = [];
  const fds = { open: 100 };
  const listener: PausableListener = {
    pause: () => void calls.push('pause'),
    resume: () => {
      calls.push('resume');
      return options.resumeSucceeds?.() ?? true;
    },
  };
  const guard = new FdGuard({
    clock,
    fileLimit: LIMIT,
    reserve: RESERVE,
    countOpenFiles: () => {
      samples.push(clock.now());
      return options.count?.() ?? fds.open;
    },
    log: {
      warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
      info: (fields, message) => lines.push({ level: 'info', message, fields }),
    },
  });
  /** Advances simulated time in 1 ms steps, so every timer fires at its own time. */
  const advance = (ms: number) => {
    for (let step = 0; step < ms; step++) clock.increment(1);
  };
  return { clock, guard, calls, lines, samples, fds, listener, advance };
}

describe('FdGuard', () => {
  it('pauses at the high watermark and resumes only below the low one', () => {
    const { guard, calls, lines, fds, listener, advance } = guarded();
    guard.start(listener);
    expect(guard.state).toEqual({
      accepting: true,
      openFiles: 100,
      fileLimit: LIMIT,
      highWatermark: 19_800,
      lowWatermark: 19_600,
    });

    fds.open = 19_799;
    advance(MAX_SAMPLE_INTERVAL_MS);
    expect(guard.state.accepting).toBe(true);

    fds.open = 19_800;
    advance(MAX_SAMPLE_INTERVAL_MS);
    expect(calls).toEqual(['pause']);
    expect(guard.state).toMatchObject({ accepting: false, openFiles: 19_800 });
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'near the open-file limit: not accepting new connections',
        fields: { openFiles: 19_800, fileLimit: LIMIT, resumeBelow: 19_600 },
      },
    ]);

    fds.open = 19_600; // not below the low watermark yet
    advance(MAX_SAMPLE_INTERVAL_MS);
    expect(calls).toEqual(['pause']);

    fds.open = 19_599;
    advance(MAX_SAMPLE_INTERVAL_MS);
    expect(calls).toEqual(['pause', 'resume']);
    expect(guard.state).toMatchObject({ accepting: true, openFiles: 19_599 });
    expect(lines[1]).toMatchObject({ level: 'info', fields: { openFiles: 19_599 } });
  });

  it('does not flap while the count hovers around the high watermark', () => {
    const { guard, calls, fds, listener, advance } = guarded();
    guard.start(listener);
    // Connections come and go around the limit: up to 19,990, down to 19,601, never below 19,600.
    for (const open of [19_801, 19_700, 19_850, 19_601, 19_799, 19_990, 19_602, 19_805, 19_750, 19_601]) {
      fds.open = open;
      advance(MAX_SAMPLE_INTERVAL_MS);
    }
    expect(calls).toEqual(['pause']);
    fds.open = 19_000;
    advance(MAX_SAMPLE_INTERVAL_MS);
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('samples about once a second far from the limit, and every few ms close to it', () => {
    const { guard, samples, fds, listener, advance } = guarded();
    const gapsOver = (ms: number) => {
      samples.length = 0;
      advance(ms);
      return samples.slice(2).map((at, index) => at - samples[index + 1]);
    };
    fds.open = 100; // 19,700 to go before pausing
    guard.start(listener);
    const far = gapsOver(10_000);
    expect(far.length).toBeGreaterThanOrEqual(8);
    for (const gap of far) expect(gap).toBeGreaterThanOrEqual(950);

    fds.open = 19_790; // 10 to go: as often as the minimum interval allows
    const near = gapsOver(2000);
    expect(near.length).toBeGreaterThan(100);
    for (const gap of near) expect(gap).toBe(MIN_SAMPLE_INTERVAL_MS);

    fds.open = 15_000; // in between
    const between = gapsOver(3000);
    expect(between.length).toBeGreaterThan(3);
    for (const gap of between) {
      expect(gap).toBeGreaterThan(MIN_SAMPLE_INTERVAL_MS);
      expect(gap).toBeLessThan(MAX_SAMPLE_INTERVAL_MS);
    }
  });

  it('keeps sampling under 1% of the time when counting is slow', () => {
    const slowCount = { clock: undefined as SimulatedClock | undefined };
    const setup = guarded({
      count: () => {
        slowCount.clock?.increment(20); // a readdir of /proc/self/fd at ~19,000 open takes about this long
        return 19_790;
      },
    });
    slowCount.clock = setup.clock;
    setup.guard.start(setup.listener);
    setup.advance(10_000);
    const gaps = setup.samples.slice(1).map((at, index) => at - setup.samples[index]);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(20 * 100);
  });

  it('treats a count that fails (EMFILE) as full, and pauses', () => {
    const { guard, calls, listener } = guarded({
      count: () => {
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      },
    });
    guard.start(listener);
    expect(calls).toEqual(['pause']);
    expect(guard.state).toMatchObject({ accepting: false, openFiles: LIMIT });
  });

  it('retries listening on every sample when it fails, and logs that once', () => {
    let attempts = 0;
    const { guard, calls, lines, fds, listener, advance } = guarded({ resumeSucceeds: () => ++attempts >= 3 });
    fds.open = 19_900;
    guard.start(listener);
    fds.open = 10;
    advance(1000);
    expect(calls).toEqual(['pause', 'resume', 'resume', 'resume']);
    expect(guard.state.accepting).toBe(true);
    expect(lines.map((line) => line.message)).toEqual([
      'near the open-file limit: not accepting new connections',
      'could not listen again; retrying',
      'open files below the low watermark: accepting new connections again',
    ]);
  });

  it('stops sampling when stopped', () => {
    const { guard, samples, listener, advance } = guarded();
    guard.start(listener);
    advance(1500);
    guard.stop();
    const seen = samples.length;
    advance(10_000);
    expect(samples.length).toBe(seen);
  });

  it('gives the engine the low watermark as its connection budget', () => {
    const { guard } = guarded();
    expect(guard.connectionBudget).toBe(19_600);
    expect(new FdGuard({ fileLimit: 300 }).connectionBudget).toBe(236);
    expect([300, 20_000, 1_048_576, Infinity].map(defaultFdReserve)).toEqual([32, 200, 1024, 1024]);
  });
});
