/**
 * Reads a process's CPU time and resident memory from /proc, the one method the bench uses for
 * every server (Parley is a separate binary we cannot instrument, so the baselines are measured
 * the same way). See proc(5): /proc/PID/stat fields 14-15, /proc/PID/status VmRSS.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';

/** Clock ticks per second of utime/stime (`getconf CLK_TCK`, 100 on Linux in practice). */
export const CLOCK_TICKS_PER_SECOND: number = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** CPU time of all threads of a process, in microseconds (tick resolution). */
export interface ProcessCpuTime {
  readonly userMicros: number;
  readonly systemMicros: number;
}

/** User and system CPU time of all threads of `pid`, from /proc/PID/stat. */
export function readProcessCpu(pid: number): ProcessCpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may contain spaces and parentheses; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  const toMicros = (ticks: string | undefined) => (Number(ticks) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
  return { userMicros: toMicros(fields[11]), systemMicros: toMicros(fields[12]) };
}

/** Resident set size of `pid` in bytes (VmRSS). */
export function readProcessRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** The soft limit on open files of this process, from /proc/self/limits. */
export function readOpenFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return match === null || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/**
 * Open file descriptors of `pid`: the size of /proc/PID/fd on Linux 6.2+ (one `stat`), else
 * the number of its entries.
 */
export function readOpenFileCount(pid: number): number {
  const size = statSync(`/proc/${pid}/fd`).size;
  return size > 0 ? size : readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Kernel slab memory in use, machine-wide, in bytes (active objects × object size over every
 * cache of /proc/slabinfo; readable by root only): sockets, files, epoll entries and the like.
 * NaN when unreadable.
 */
export function readSlabBytes(): number {
  let text: string;
  try {
    text = readFileSync('/proc/slabinfo', 'latin1');
  } catch {
    return NaN;
  }
  let bytes = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#') || line === '') continue;
    const [, activeObjects, , objectSize] = line.split(/\s+/);
    bytes += Number(activeObjects) * Number(objectSize);
  }
  return bytes;
}

/**
 * CPU time all processes of the machine spent busy (user, nice, system, irq, softirq, steal), in
 * microseconds, from the first line of /proc/stat: what else ran beside the bench.
 */
export function readMachineBusyMicros(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time one thread has spent so far, with its process's pid and kind and its name (`comm`). */
export interface ThreadCpuNanos<Kind extends string> {
  readonly pid: number;
  readonly kind: Kind;
  readonly thread: string;
  readonly nanos: number;
}

/**
 * CPU time each thread of each live process descending from `root` has spent so far
 * (/proc/PID/task/TID/schedstat's first field: nanoseconds on a CPU, not tick-rounded), keyed by
 * `PID:TID`, with the kind `classify` gives its process's command line; processes it names
 * `undefined` are left out. Threads that ended are not counted, so a diff over a short window is a
 * lower bound.
 */
export function readTreeThreadCpuNanos<Kind extends string>(
  root: number,
  classify: (commandLine: string) => Kind | undefined,
): Map<string, ThreadCpuNanos<Kind>> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at !== undefined && hops < 64; at = parents.get(at), hops++)
      if (at === root) return true;
    return false;
  };
  const result = new Map<string, ThreadCpuNanos<Kind>>();
  for (const pid of parents.keys()) {
    if (pid === root || !inTree(pid)) continue;
    try {
      const kind = classify(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' '));
      if (kind === undefined) continue;
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        try {
          const nanos = Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'latin1').split(' ')[0]);
          const thread = readFileSync(`/proc/${pid}/task/${task}/comm`, 'latin1').trim();
          result.set(`${pid}:${task}`, { pid, kind, thread, nanos });
        } catch {
          // The thread ended meanwhile.
        }
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return result;
}

/**
 * CPU time each live process descending from `root` has spent so far: the sum over its threads of
 * {@link readTreeThreadCpuNanos}, keyed by pid.
 */
export function readTreeCpuNanos<Kind extends string>(
  root: number,
  classify: (commandLine: string) => Kind | undefined,
): Map<number, { readonly kind: Kind; readonly nanos: number }> {
  const result = new Map<number, { kind: Kind; nanos: number }>();
  for (const { pid, kind, nanos } of readTreeThreadCpuNanos(root, classify).values()) {
    const sum = result.get(pid) ?? { kind, nanos: 0 };
    sum.nanos += nanos;
    result.set(pid, sum);
  }
  return result;
}
