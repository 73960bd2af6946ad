/**
 * Keeps the server responsive near its open-file limit. uSockets' accept loop, when `accept()`
 * fails with EMFILE, leaves the listen socket readable without accepting it, so the event loop
 * spins at 100% CPU while new connections wait in the backlog and time out. The guard samples
 * the process's open file descriptors and, before the limit is reached, closes the listen socket
 * (new connections are then refused by the kernel at once); once enough descriptors are free
 * again it listens again on the same address. Connections already open are never touched.
 *
 * Sampling is adaptive: one `stat` of /proc/self/fd (Linux 6.2+ reports the number of open
 * descriptors as its size: a few µs at 19,000 open) or, on older kernels, a `readdir` of it
 * (about 20 ms at 19,000 open). The interval is short when little headroom is left, long when
 * there is plenty, and never so short that sampling itself costs more than 1% of a core.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { systemClock, type EngineClock } from './engine/clock.js';
import { silentLog, type EngineLog } from './engine/engine-log.js';
import { uws } from './uws.js';

/** A listen socket the guard can close and reopen. */
export interface PausableListener {
  /** Stops accepting: closes the listen socket. Connections already accepted stay open. */
  pause(): void;
  /** Listens again on the same address; false if that failed (the guard retries later). */
  resume(): boolean;
}

/** What the guard tells /healthz. */
export interface FdGuardState {
  /** False while the listen socket is closed because too few descriptors are free. */
  readonly accepting: boolean;
  /** Open file descriptors at the last sample. */
  readonly openFiles: number;
  /** The process's soft limit on open files (`ulimit -n`). */
  readonly fileLimit: number;
  /** The guard stops accepting at this many open descriptors... */
  readonly highWatermark: number;
  /** ...and accepts again below this many. */
  readonly lowWatermark: number;
}

/** Options of an {@link FdGuard}; tests inject time, the limit and the descriptor count. */
export interface FdGuardOptions {
  /** Time source of the sampling timer; default the system's monotonic clock. */
  readonly clock?: EngineClock;
  /** Where pause and resume are reported; default nowhere. */
  readonly log?: EngineLog;
  /** Counts open descriptors; default {@link countOpenFiles}. May throw (EMFILE): that counts as full. */
  readonly countOpenFiles?: () => number;
  /** The soft limit on open files; default {@link readOpenFileLimit}. */
  readonly fileLimit?: number;
  /** Descriptors kept free; default {@link defaultFdReserve} of the limit. */
  readonly reserve?: number;
}

/** Sampling never happens more often than this, in ms. */
export const MIN_SAMPLE_INTERVAL_MS = 10;
/** ...nor less often than this, while accepting. */
export const MAX_SAMPLE_INTERVAL_MS = 1000;
/** While paused, how often the guard checks whether it may accept again (cost floor aside). */
export const PAUSED_SAMPLE_INTERVAL_MS = 100;
/**
 * How fast descriptors are assumed to be used up, per ms (20,000 a second): the next sample comes
 * before the headroom below the high watermark could be used up at this pace. A faster flood
 * (a loopback burst can be) reaches the limit between two samples; uSockets then spins until
 * the next sample pauses it: for one interval at most.
 */
const ASSUMED_FDS_PER_MS = 20;
/** Sampling may take at most 1/this of the time between samples (1% of a core). */
const SAMPLING_COST_FACTOR = 100;

/**
 * Descriptors the guard keeps free for a given limit: 1% of it, at least 32 and at most 1024.
 * At 20,000 that is 200: the guard pauses at 19,800 open and resumes below 19,600.
 */
export function defaultFdReserve(fileLimit: number): number {
  if (!Number.isFinite(fileLimit)) return 1024;
  return Math.min(1024, Math.max(32, Math.ceil(fileLimit / 100)));
}

/**
 * Open file descriptors of this process. Linux 6.2+ reports the count as the size of
 * /proc/self/fd, which costs one `stat` and needs no descriptor, so it works even at the limit;
 * older kernels report 0 and the directory is listed instead (minus the one descriptor the
 * listing itself holds).
 */
export function countOpenFiles(): number {
  const size = statSync('/proc/self/fd').size;
  if (size > 0) return size;
  return readdirSync('/proc/self/fd').length - 1;
}

/** The soft limit on open files of this process, from /proc/self/limits (proc(5)). */
export function readOpenFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return match === null || match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

/**
 * Pauses accepting when open descriptors reach the high watermark (limit − reserve) and resumes
 * once they fall below the low watermark (limit − 2 × reserve). The gap between the two is the
 * hysteresis that keeps a server hovering at the limit from closing and reopening its listen
 * socket on every sample. One guard per server; it holds no state outside itself.
 */
export class FdGuard {
  readonly fileLimit: number;
  readonly reserve: number;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  private readonly clock: EngineClock;
  private readonly log: EngineLog;
  private readonly count: () => number;
  private accepting = true;
  private openFiles = 0;
  private lastSampleCostMs = 0;
  private timer: unknown;
  private listener: PausableListener | undefined;
  private resumeFailureLogged = false;

  constructor(options: FdGuardOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLog;
    this.count = options.countOpenFiles ?? countOpenFiles;
    this.fileLimit = options.fileLimit ?? readOpenFileLimit();
    this.reserve = options.reserve ?? defaultFdReserve(this.fileLimit);
    this.highWatermark = this.fileLimit - this.reserve;
    this.lowWatermark = this.fileLimit - 2 * this.reserve;
  }

  /**
   * Connections the engine may hold (its `maxConnections`): the low watermark. The engine then
   * refuses with 503 while the guard still has a reserve of descriptors above it for the
   * process's own files, plain HTTP requests and the refusals themselves; the guard only steps
   * in when descriptors are used outside the engine's accounting.
   */
  get connectionBudget(): number {
    return Math.max(0, this.lowWatermark);
  }

  /** Whether the server accepts, and the last sample. */
  get state(): FdGuardState {
    return {
      accepting: this.accepting,
      openFiles: this.openFiles,
      fileLimit: this.fileLimit,
      highWatermark: this.highWatermark,
      lowWatermark: this.lowWatermark,
    };
  }

  /**
   * Guards `listener` (listening now): takes a first sample at once and keeps sampling until
   * {@link FdGuard.stop}.
   */
  start(listener: PausableListener): void {
    if (this.listener !== undefined) throw new Error('FdGuard already started');
    this.listener = listener;
    this.sample();
  }

  /** Stops sampling. The listen socket stays as it is: its owner closes it. */
  stop(): void {
    this.listener = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    this.timer = undefined;
    const listener = this.listener;
    if (listener === undefined) return;
    const started = this.clock.now();
    this.openFiles = this.countOrLimit();
    this.lastSampleCostMs = this.clock.now() - started;
    if (this.accepting && this.openFiles >= this.highWatermark) this.pause(listener);
    else if (!this.accepting && this.openFiles < this.lowWatermark) this.resume(listener);
    this.timer = this.clock.setTimeout(() => this.sample(), this.nextInterval());
  }

  private countOrLimit(): number {
    try {
      return this.count();
    } catch {
      // Listing /proc/self/fd needs a descriptor: EMFILE means there is none left.
      return this.fileLimit;
    }
  }

  /** Often when close to the high watermark, rarely when far, never costlier than 1% of a core. */
  private nextInterval(): number {
    const wanted = this.accepting
      ? Math.min(
          MAX_SAMPLE_INTERVAL_MS,
          Math.max(MIN_SAMPLE_INTERVAL_MS, (this.highWatermark - this.openFiles) / ASSUMED_FDS_PER_MS),
        )
      : PAUSED_SAMPLE_INTERVAL_MS;
    return Math.ceil(Math.max(wanted, this.lastSampleCostMs * SAMPLING_COST_FACTOR));
  }

  private pause(listener: PausableListener): void {
    listener.pause();
    this.accepting = false;
    this.resumeFailureLogged = false;
    this.log.warn(
      { openFiles: this.openFiles, fileLimit: this.fileLimit, resumeBelow: this.lowWatermark },
      'near the open-file limit: not accepting new connections',
    );
  }

  private resume(listener: PausableListener): void {
    if (!listener.resume()) {
      // Once per pause: the port may have been taken meanwhile; every sample retries.
      if (!this.resumeFailureLogged) this.log.warn({ openFiles: this.openFiles }, 'could not listen again; retrying');
      this.resumeFailureLogged = true;
      return;
    }
    this.accepting = true;
    this.log.info(
      { openFiles: this.openFiles, fileLimit: this.fileLimit },
      'open files below the low watermark: accepting new connections again',
    );
  }
}

/**
 * The listen socket of a uWebSockets.js app, which the guard closes and reopens. It owns the
 * listen token: close it with {@link UwsListenSocket.close}, never with `us_listen_socket_close`
 * directly (closing a token twice frees it twice).
 */
export class UwsListenSocket implements PausableListener {
  private token: us_listen_socket | undefined;
  private closed = false;
  private boundPort: number;
  /**
   * Held while paused: the listen socket may have been the last handle keeping the event loop
   * alive, and without it the process would exit once its connections close, instead of
   * waiting to listen again.
   */
  private keepAlive: NodeJS.Timeout | undefined;

  /**
   * Takes over `token`, which `app.listen(host, requestedPort, listenOptions)` has just
   * returned; listening again uses the same options (uSockets' `LIBUS_LISTEN_*` flags).
   */
  constructor(
    private readonly app: TemplatedApp,
    private readonly host: string,
    requestedPort: number,
    token: us_listen_socket,
    private readonly listenOptions = 0,
  ) {
    this.token = token;
    this.boundPort = uws.us_socket_local_port(token);
    // uSockets sets SO_REUSEADDR only when it binds a port by number. The
    // connections a port-0 socket accepts inherit its lack of them and keep the port from being
    // bound again while any is open, so resume() would fail until the last one closed. Swap the
    // port-0 socket now for one bound to the same port by number: it has accepted nothing yet
    // (accepting happens in the event loop, after this).
    if (requestedPort === 0) {
      this.pause();
      if (!this.resume()) this.listenOnAnyPort();
    }
  }

  /** The port listened on (the one picked when 0 was asked for). */
  get port(): number {
    return this.boundPort;
  }

  pause(): void {
    if (this.token === undefined) return;
    uws.us_listen_socket_close(this.token);
    this.token = undefined;
    this.keepAlive ??= setInterval(() => {}, 2 ** 30);
  }

  resume(): boolean {
    if (this.closed) return false;
    if (this.token === undefined) this.listen(this.boundPort);
    if (this.token !== undefined) this.releaseKeepAlive();
    return this.token !== undefined;
  }

  /** Stops listening for good. */
  close(): void {
    this.pause();
    this.releaseKeepAlive();
    this.closed = true;
  }

  private releaseKeepAlive(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  /** Another process took the picked port in the moment it was free: take any other. */
  private listenOnAnyPort(): void {
    this.listen(0);
    if (this.token === undefined) throw new Error(`Cannot listen on ${this.host} any more.`);
    this.boundPort = uws.us_socket_local_port(this.token);
  }

  private listen(port: number): void {
    // The typings lack the (host, port, options, callback) overload the native App has.
    const listen = this.app.listen.bind(this.app) as unknown as (
      host: string,
      port: number,
      options: number,
      callback: (token: us_listen_socket | false) => void,
    ) => void;
    // uWS listens and calls back synchronously.
    listen(this.host, port, this.listenOptions, (token) => {
      if (token) this.token = token;
    });
  }
}
