/**
 * The time-to-media bench's bookkeeping (bench/time-to-media.ts, bench/proc-stats.ts): the CPU
 * time of a process tree, and the section it writes into docs/performance.md.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readTreeCpuNanos } from '../bench/proc-stats.js';
import {
  medianCallCpu,
  renderTimeToMediaSection,
  timeToMediaPathFromEnv,
  timeToMediaRatioInterval,
  type CallCpu,
  type TimeToMediaResult,
} from '../bench/time-to-media.js';

describe('readTreeCpuNanos', () => {
  it('reads the children of a process, by the kind their command line gives, and only those', async () => {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 2000; while (Date.now() < end);']);
    const idle = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 2000)']);
    const unnamed = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1999)']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const classify = (commandLine: string) =>
        commandLine.includes('Date.now() + 2000') ? 'busy' : commandLine.includes('2000)') ? 'idle' : undefined;
      const tree = readTreeCpuNanos(process.pid, classify);
      expect(tree.get(busy.pid!)?.kind).toBe('busy');
      expect(tree.get(idle.pid!)?.kind).toBe('idle');
      expect(tree.has(unnamed.pid!)).toBe(false);
      expect(tree.has(process.pid)).toBe(false);
      // Both children spend tens of milliseconds starting Node; on a loaded machine the busy one
      // may not have run its loop yet, so read again until it has (it loops for 2 s).
      const busyOverIdle = () => {
        const now = readTreeCpuNanos(process.pid, classify);
        return now.get(busy.pid!)!.nanos - now.get(idle.pid!)!.nanos;
      };
      await expect.poll(busyOverIdle, { timeout: 1_500, interval: 50 }).toBeGreaterThan(0);
      // Only descendants count: a process without children has an empty tree, whatever the classifier says.
      expect(readTreeCpuNanos(busy.pid!, () => 'any').size).toBe(0);
    } finally {
      for (const child of [busy, idle, unnamed]) child.kill();
    }
  });

  it('sees a busy child burn about as much CPU as it ran', async () => {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end);']);
    try {
      const classify = (commandLine: string) => (commandLine.includes('Date.now() + 1500') ? 'busy' : undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = readTreeCpuNanos(process.pid, classify).get(busy.pid!)!.nanos;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const after = readTreeCpuNanos(process.pid, classify).get(busy.pid!)!.nanos;
      // 500 ms of wall time on a loaded 2-core machine: at least a fifth of it on a CPU, at most all.
      expect((after - before) / 1e6).toBeGreaterThan(100);
      expect((after - before) / 1e6).toBeLessThan(650);
    } finally {
      busy.kill();
    }
  });
});

describe('the time-to-media section', () => {
  const cpu = (renderer: number): CallCpu => ({ browser: 50, renderer, gpu: 10, utility: 40, server: 5 });
  const result: TimeToMediaResult = {
    date: '2026-11-27T00:00:00.000Z',
    chromium: '156.0',
    runs: [
      { setup: 'original', millis: 200, cpu: cpu(100) },
      { setup: 'parley', millis: 300, cpu: cpu(200) },
      { setup: 'original', millis: 220, cpu: cpu(120) },
      { setup: 'parley', millis: 280, cpu: cpu(260) },
      { setup: 'original', millis: 240, cpu: cpu(140) },
      { setup: 'parley', millis: 320, cpu: cpu(230) },
    ],
  };

  it('takes the median of each kind and of the totals', () => {
    expect(medianCallCpu(result, 'original')).toEqual({
      browser: 50,
      renderer: 120,
      gpu: 10,
      utility: 40,
      server: 5,
      total: 225,
    });
    expect(medianCallCpu(result, 'parley')?.total).toBe(335);
    expect(
      medianCallCpu({ ...result, runs: result.runs.map(({ setup, millis }) => ({ setup, millis })) }, 'parley'),
    ).toBe(undefined);
  });

  it('gives a 95% interval for the time ratio, the same each time it is rendered', () => {
    const [low, high] = timeToMediaRatioInterval(result);
    // Every resample's ratio is a Parley run over an original run: from 280/240 to 320/200.
    expect(low).toBeGreaterThanOrEqual(280 / 240);
    expect(high).toBeLessThanOrEqual(320 / 200);
    expect(low).toBeLessThan(high);
    expect(timeToMediaRatioInterval(result)).toEqual([low, high]);
    // Setups that overlap: the interval spans 1.
    const overlapping: TimeToMediaResult = {
      ...result,
      runs: [200, 230, 240, 210, 260, 250, 220, 245, 250, 235].map((millis, run) => ({
        setup: run % 2 === 0 ? 'original' : 'parley',
        millis,
      })),
    };
    const [from, to] = timeToMediaRatioInterval(overlapping);
    expect(from).toBeLessThan(1);
    expect(to).toBeGreaterThan(1);
  });

  it('reports the time ratio and the CPU ratio', () => {
    const section = renderTimeToMediaSection(result);
    expect(section).toContain('Parley ÷ original: **1.36**');
    expect(section).toMatch(/\(95% interval \d\.\d\d–\d\.\d\d, resampling the runs;/);
    expect(section).toContain('| Original | 50 | 120 | 10 | 40 | 5 | 225 |');
    expect(section).toContain('| Parley | 50 | 230 | 10 | 40 | 5 | 335 |');
    expect(section).toMatch(/Parley ÷ original, CPU: \*\*1\.49\*\*, on a machine with \d+ cores\./);
  });

  it('leaves the CPU table out when the runs have no CPU readings', () => {
    const section = renderTimeToMediaSection({
      ...result,
      runs: result.runs.map(({ setup, millis }) => ({ setup, millis })),
    });
    expect(section).toContain('Parley ÷ original: **1.36**');
    expect(section).not.toContain('CPU');
  });

  it('adds the measurement over a distance, with its own medians and ratio, when there is one', () => {
    const distant: TimeToMediaResult = {
      ...result,
      path: { oneWayMs: 25, handshakeRoundTrips: 2 },
      runs: [800, 700, 820, 720, 780, 690].map((millis, run) => ({
        setup: run % 2 === 0 ? 'original' : 'parley',
        millis,
      })),
    };
    const section = renderTimeToMediaSection(result, distant);
    expect(section).toContain('Parley ÷ original: **1.36**');
    expect(section).toContain('### Over a distance: 50 ms round trip to the server');
    expect(section).toContain('| Parley app on Parley | 700 | 700, 720, 690 |');
    expect(section).toContain('Parley ÷ original: **0.88**');
    // Without one, or with a result taken on loopback, there is no such part.
    expect(renderTimeToMediaSection(result)).not.toContain('Over a distance');
    expect(renderTimeToMediaSection(result, result)).not.toContain('Over a distance');
  });

  it('reads the distance from BENCH_TTM_DISTANCE_MS: 25 ms by default, none at 0, and refuses nonsense', () => {
    const saved = process.env['BENCH_TTM_DISTANCE_MS'];
    try {
      delete process.env['BENCH_TTM_DISTANCE_MS'];
      expect(timeToMediaPathFromEnv()).toEqual({ oneWayMs: 25, handshakeRoundTrips: 2 });
      process.env['BENCH_TTM_DISTANCE_MS'] = '0';
      expect(timeToMediaPathFromEnv()).toBeUndefined();
      process.env['BENCH_TTM_DISTANCE_MS'] = '40';
      expect(timeToMediaPathFromEnv()).toEqual({ oneWayMs: 40, handshakeRoundTrips: 2 });
      process.env['BENCH_TTM_DISTANCE_MS'] = 'far';
      expect(() => timeToMediaPathFromEnv()).toThrow(/BENCH_TTM_DISTANCE_MS/);
    } finally {
      if (saved === undefined) delete process.env['BENCH_TTM_DISTANCE_MS'];
      else process.env['BENCH_TTM_DISTANCE_MS'] = saved;
    }
  });
});
