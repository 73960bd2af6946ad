/**
 * Parley's log: pino, one JSON object a line, with levels. On a terminal the same records are
 * printed as short human lines instead (`12:00:01 INFO  Parley is listening  url=...`); whenever
 * the output is not a terminal (systemd, docker, a pipe), every line is JSON. The engine and the
 * fd guard take this logger as it is (they use pino's `warn(fields, message)` shape).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Levels pino prints, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Turns one JSON record into a human line. */
export function humanLine(json: string): string {
  const record = JSON.parse(json) as Record<string, unknown>;
  const { level, time, msg, pid: _pid, hostname: _hostname, ...fields } = record;
  const clock = new Date(Number(time)).toISOString().slice(11, 19);
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${clock} ${LEVEL_NAMES[Number(level)] ?? String(level)} ${typeof msg === 'string' ? msg : JSON.stringify(msg ?? '')}${extra ? `  ${extra}` : ''}\n`;
}

/** A destination that prints human lines to `out`. */
function humanDestination(out: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => void out.write(humanLine(line)) };
}

/** The process's logger: JSON lines on a pipe or file, human lines on a terminal. */
export function createLogger(options: { level?: LogLevel; out?: NodeJS.WriteStream; human?: boolean } = {}): Logger {
  const out = options.out ?? process.stdout;
  const human = options.human ?? out.isTTY === true;
  const settings = { level: options.level ?? 'info', base: { pid: process.pid } };
  // Synchronous writes: the last lines before an exit are never lost.
  return human ? pino(settings, humanDestination(out)) : pino(settings, pino.destination({ dest: 1, sync: true }));
}
