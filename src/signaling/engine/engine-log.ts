/**
 * Where the engine reports what operators need to see: a client cut for bad input or for a
 * limit, a refused connection. The shape is pino's (`log.warn({ ...fields }, 'message')`), so a
 * pino logger plugs in as it is. Lines about clients are rate-limited: a flood of bad frames
 * costs one line a second, not one a frame, and never a stack trace.
 */

/** The part of a pino logger the engine uses. */
export interface EngineLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/** A log that writes nothing (the engine's default; the CLI passes pino). */
export const silentLog: EngineLog = {
  warn: () => {},
  info: () => {},
};

/**
 * Lines about misbehaving clients, at most `perSecond` a second server-wide. What is held back
 * is counted and reported in the next line that goes out (`suppressed`), so a flood of bad
 * clients costs a few lines a second and the operator still sees its size.
 */
export class ClientFaultLog {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly log: EngineLog,
    private readonly now: () => number,
    private readonly perSecond = 10,
  ) {}

  /** Writes one warn line about a client, unless this second's quota is used up. */
  report(fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= this.perSecond) {
      this.suppressed += 1;
      return;
    }
    this.written += 1;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
