/**
 * Captures what the engine writes to its `log` option (pino's shape) and to the console, so
 * tests can assert one structured line per bad client, a bounded flood, and no stack traces.
 */
import type { EngineLog } from '../../src/signaling/engine/engine-log.js';

/** One captured log line. */
export interface LogLine {
  readonly level: 'warn' | 'info';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A log to pass as the engine's `log` option, and what it received. */
export interface CapturedLog {
  readonly log: EngineLog;
  readonly lines: LogLine[];
  /** Lines whose fields or message carry a stack trace or an Error object. */
  linesWithStacks(): LogLine[];
  /** Warn lines about session `sid`. */
  warningsFor(sid: string): LogLine[];
  /** The sum of every numeric `suppressed` field. */
  suppressedTotal(): number;
}

const STACK_FRAME = /\n\s+at /;

/** True when `value` (a log field) is or holds a stack trace or an Error. */
export function carriesStack(value: unknown, depth = 0): boolean {
  if (value instanceof Error) return true;
  if (typeof value === 'string') return STACK_FRAME.test(value);
  if (depth > 4 || value === null || typeof value !== 'object') return false;
  return Object.values(value).some((inner) => carriesStack(inner, depth + 1));
}

/** A fresh capture. */
export function captureLog(): CapturedLog {
  const lines: LogLine[] = [];
  const record =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    log: { warn: record('warn'), info: record('info') },
    lines,
    linesWithStacks: () => lines.filter((line) => carriesStack(line.fields) || carriesStack(line.message)),
    warningsFor: (sid) => lines.filter((line) => line.level === 'warn' && line.fields['sid'] === sid),
    suppressedTotal: () =>
      lines.reduce(
        (sum, line) => sum + (typeof line.fields['suppressed'] === 'number' ? line.fields['suppressed'] : 0),
        0,
      ),
  };
}

/** Records console.error / console.warn calls (the engine must not write there). */
export interface ConsoleWatch {
  readonly calls: Array<{ method: 'error' | 'warn'; args: unknown[] }>;
  /** The calls as text, stacks included, for a failure message. */
  describe(limit?: number): string;
  /** Distinct calls (by their text without stack frames), with how often each came. */
  distinct(): Array<{ text: string; count: number }>;
  restore(): void;
}

/** Replaces console.error and console.warn with recorders until `restore()`. */
export function watchConsole(): ConsoleWatch {
  const calls: ConsoleWatch['calls'] = [];
  const original = { error: console.error, warn: console.warn };
  console.error = (...args: unknown[]) => void calls.push({ method: 'error', args });
  console.warn = (...args: unknown[]) => void calls.push({ method: 'warn', args });
  return {
    calls,
    describe: (limit = 5) =>
      calls
        .slice(0, limit)
        .map(
          ({ method, args }) =>
            `console.${method}: ${args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' ')}`,
        )
        .join('\n---\n'),
    distinct: () => {
      const counts = new Map<string, number>();
      for (const { method, args } of calls) {
        const text = `console.${method}: ${args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' ')}`;
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
      return [...counts].map(([text, count]) => ({ text, count }));
    },
    restore: () => {
      console.error = original.error;
      console.warn = original.warn;
    },
  };
}
