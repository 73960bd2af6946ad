/**
 * The time-to-media bench's bookkeeping (bench/time-to-media.ts, bench/proc-stats.ts): the CPU
 * time of a process tree, and the section it writes into docs/performance.md.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readTreeCpuNanos, readTreeThreadCpuNanos, type ThreadCpuNanos } from '../bench/proc-stats.js';
import {
  cpuBetween,
  medianCallCpu,
  medianThreadCpu,
  renderTimeToMediaSection,
  timeToMediaPathFromEnv,
  timeToMediaRatioInterval,
  type CallCpu,
  type CpuKind,
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

describe('readTreeThreadCpuNanos', () => {
  it("reads each thread of the tree's processes, by name, adding up to the process's time", async () => {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end);']);
    try {
      const classify = (commandLine: string) => (commandLine.includes('Date.now() + 1500') ? 'busy' : undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const tree = readTreeThreadCpuNanos(process.pid, classify);
      const threads = [...tree.values()];
      // The main thread (its tid is the pid) is named after the program, and it burns the CPU;
      // V8 and libuv start workers beside it.
      const main = tree.get(`${busy.pid}:${busy.pid}`);
      expect(main?.thread).toBe('node');
      expect(main!.nanos).toBe(Math.max(...threads.map((thread) => thread.nanos)));
      expect(threads.length).toBeGreaterThan(1);
      expect(threads.every((thread) => thread.kind === 'busy' && thread.pid === busy.pid)).toBe(true);
      const sum = threads.reduce((total, thread) => total + thread.nanos, 0);
      const whole = readTreeCpuNanos(process.pid, classify).get(busy.pid!)!.nanos;
      // Read a moment later, while the child still burns: at least the sum, not much more.
      expect(whole).toBeGreaterThanOrEqual(sum);
      expect(whole - sum).toBeLessThan(200e6);
    } finally {
      busy.kill();
    }
  });
});

describe('cpuBetween', () => {
  const reading = (entries: [string, number, CpuKind, string, number][]) =>
    new Map<string, ThreadCpuNanos<CpuKind>>(
      entries.map(([key, pid, kind, thread, millis]) => [key, { pid, kind, thread, nanos: millis * 1e6 }]),
    );

  it('charges each kind and each thread what it spent, naming the tabs by the renderers that capture audio', () => {
    const before = reading([
      ['1:1', 1, 'browser', 'chromium', 100],
      ['2:2', 2, 'renderer', 'chromium', 400], // tab A: it has run its page and opened the microphone
      ['2:3', 2, 'renderer', 'ThreadPoolForeg', 50],
      ['2:4', 2, 'renderer', 'AudioInputDevic', 3],
      ['6:6', 6, 'renderer', 'chromium', 600], // busier still, but no page of a tab: not tab A
      ['3:3', 3, 'renderer', 'chromium', 20], // a spare renderer, which tab B takes
      ['4:4', 4, 'server', 'node', 30],
    ]);
    const after = reading([
      ['1:1', 1, 'browser', 'chromium', 130],
      ['2:2', 2, 'renderer', 'chromium', 410],
      ['2:3', 2, 'renderer', 'ThreadPoolForeg', 52],
      ['2:4', 2, 'renderer', 'AudioInputDevic', 4],
      ['6:6', 6, 'renderer', 'chromium', 601],
      ['3:3', 3, 'renderer', 'chromium', 120],
      ['3:9', 3, 'renderer', 'ThreadPoolForeg', 6], // started during the call
      ['3:10', 3, 'renderer', 'ThreadPoolForeg', 4],
      ['3:11', 3, 'renderer', 'AudioInputDevic', 2],
      ['4:4', 4, 'server', 'node', 35],
      ['5:5', 5, 'gpu', 'VizCompositorTh', 12], // a process started during the call
    ]);
    const { cpu, threads } = cpuBetween(before, after);
    expect(cpu).toEqual({ browser: 30, renderer: 126, gpu: 12, utility: 0, server: 5 });
    expect(threads).toEqual({
      'browser main': 30,
      'tab A main': 10,
      'tab A ThreadPoolForeg': 2,
      'tab A AudioInputDevic': 1,
      'other renderer main': 1,
      'tab B main': 100,
      'tab B ThreadPoolForeg': 10,
      'tab B AudioInputDevic': 2,
      'server main': 5,
      'gpu VizCompositorTh': 12,
    });
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

  it('tells how many calls never played, when some did not', () => {
    expect(renderTimeToMediaSection({ ...result, failed: { original: 1 } })).toContain(
      'Calls that never played (no remote video within 30 s; each made again, not in the runs above): original 1, Parley 0.',
    );
    expect(renderTimeToMediaSection(result)).not.toContain('never played');
  });

  it('leaves the CPU table out when the runs have no CPU readings', () => {
    const section = renderTimeToMediaSection({
      ...result,
      runs: result.runs.map(({ setup, millis }) => ({ setup, millis })),
    });
    expect(section).toContain('Parley ÷ original: **1.36**');
    expect(section).not.toContain('CPU');
  });

  it('tells the CPU by thread, the largest difference first, a thread that did not run counting 0', () => {
    const threads = (main: number, pool?: number): Record<string, number> => ({
      'tab B main': main,
      'gpu VizCompositorTh': 10,
      'browser main': 2,
      ...(pool === undefined ? {} : { 'tab B ThreadPoolForeg': pool }),
    });
    const withThreads: TimeToMediaResult = {
      ...result,
      runs: result.runs.map((run, index) => ({
        ...run,
        threads: run.setup === 'original' ? threads(80 + index) : threads(110 + index, index === 1 ? undefined : 20),
      })),
    };
    expect(medianThreadCpu(withThreads)).toEqual([
      { thread: 'tab B main', original: 82, parley: 113 },
      { thread: 'tab B ThreadPoolForeg', original: 0, parley: 20 },
      { thread: 'gpu VizCompositorTh', original: 10, parley: 10 },
    ]);
    const section = renderTimeToMediaSection(withThreads);
    expect(section).toContain('| Thread | Original | Parley | Parley − original |');
    expect(section).toContain('| tab B main | 82.0 | 113.0 | 31.0 |');
    expect(section).toContain('| tab B ThreadPoolForeg | 0.0 | 20.0 | 20.0 |');
    // Below 3 ms in both: left out.
    expect(section).not.toContain('browser main');
    expect(renderTimeToMediaSection(result)).not.toContain('| Thread |');
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
