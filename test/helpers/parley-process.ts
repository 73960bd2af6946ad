/**
 * The `parley` command as a real child process, run from the sources with tsx as
 * test/node-versions.test.ts does: no test file has to build dist/ first (vitest runs two files
 * at once, and two builds into one dist/ would race). Its stdout is a pipe, so it logs JSON
 * lines; tests wait on those lines instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The state directory of every process a test file starts (the resume secret lives there), so
 * tests never write to the user's own; processes of one file share it, as restarts on one
 * machine do.
 */
const stateHome = mkdtempSync(join(tmpdir(), 'parley-state-'));

/** What `node --import tsx -e <this> -- <args>` runs: the CLI, as bin/parley.js runs it. */
const CLI_ENTRY =
  "const { main } = await import('./src/signaling/cli.ts'); process.exitCode = await main(process.argv.slice(1));";

/** One JSON log line. */
export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A running (or exited) `parley` process. */
export interface ParleyProcess {
  readonly child: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: readonly string[];
  /** The stdout lines that are JSON log records. */
  records(): LogRecord[];
  stderr(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first log record `match` accepts; rejects on exit or after `timeoutMs`. */
  waitForRecord(match: (record: LogRecord) => boolean, describe: string, timeoutMs?: number): Promise<LogRecord>;
  /** Resolves with the URL of its "listening" line. */
  listening(): Promise<URL>;
  /** Sends `signal` (unless it has exited) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `parley <args>` with stdout and stderr piped (not a terminal). */
export function runParley(args: readonly string[], env: NodeJS.ProcessEnv = {}): ParleyProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', CLI_ENTRY, '--', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    // No web app unless a test passes --static (src/web, the default, does not exist).
    env: { ...process.env, PARLEY_STATIC: '', XDG_STATE_HOME: stateHome, ...env },
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let exitCode: number | null | undefined;
  const wakers = new Set<() => void>();
  const wake = (): void => wakers.forEach((w) => w());
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + String(chunk)).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
      wake();
    }),
  );
  const records = (): LogRecord[] =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return [];
      }
    });
  const waitForRecord = (match: (record: LogRecord) => boolean, describe: string, timeoutMs = 10_000) =>
    new Promise<LogRecord>((resolve, reject) => {
      const check = (): void => {
        const found = records().find(match);
        if (found !== undefined) finish(() => resolve(found));
        else if (exitCode !== undefined)
          finish(() => reject(new Error(`parley exited (${exitCode}) before ${describe}:\n${output()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe}:\n${output()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        wakers.delete(check);
        settle();
      };
      wakers.add(check);
      check();
    });
  const output = (): string => [...lines, partial, stderr].join('\n');
  return {
    child,
    lines,
    records,
    stderr: () => stderr,
    exited,
    waitForRecord,
    listening: async () => {
      const record = await waitForRecord((r) => typeof r['url'] === 'string', 'the "listening" line');
      return new URL(record['url'] as string);
    },
    stop: (signal = 'SIGTERM') => {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}
