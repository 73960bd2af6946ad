/**
 * The bench's process plumbing, shared by bench/run.ts and bench/fd-limit.ts: every child is
 * tracked so that nothing outlives the bench, generators report over IPC through a queue, and
 * ports are picked free on loopback.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Every child the bench started, killed together when the bench ends or gives up. */
export class ChildSet {
  private readonly children = new Set<ChildProcess>();

  /** Tracks `child` until it exits; returns it. */
  track<T extends ChildProcess>(child: T): T {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

export function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function waitForExit(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A forked TypeScript child (run with tsx) whose IPC messages are read one at a time, in order. */
export interface ReportingChild<Report> {
  readonly child: ChildProcess;
  /** The next message, queued if it came early; rejects if the child exits first. */
  readonly next: () => Promise<Report>;
}

/** Forks `entry` with `argument` (JSON) as its one argument. */
export function forkReporting<Report>(
  children: ChildSet,
  entry: string,
  argument: unknown,
  cwd: string,
): ReportingChild<Report> {
  const child = children.track(
    fork(entry, [JSON.stringify(argument)], {
      cwd,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const queue: Report[] = [];
  let waiter: { resolve: (report: Report) => void; reject: (error: Error) => void } | undefined;
  child.on('message', (message: Report) => {
    if (waiter === undefined) queue.push(message);
    else waiter.resolve(message);
    waiter = undefined;
  });
  child.once('exit', (code) => waiter?.reject(new Error(`${entry} exited with ${code}`)));
  const next = () =>
    new Promise<Report>((resolve, reject) => {
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      if (child.exitCode !== null) return reject(new Error(`${entry} exited with ${child.exitCode}`));
      waiter = { resolve, reject };
    });
  return { child, next };
}

/** A non-negative number from the environment variable `name`, or `fallback` when it is unset. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return value;
}
