/**
 * One connection to Redis that degrades and recovers instead of crashing or queueing forever.
 *
 * ioredis reconnects on its own; what this adds is the policy around it:
 * - Commands never wait for a connection that is down (`enableOfflineQueue: false`) and are never
 *   sent twice (`autoResendUnfulfilledCommands: false`): a caller learns at once that Redis is
 *   away ({@link ClusterError.redisUnavailable}) and can refuse a join cleanly, rather than hold
 *   a client's CONNECT open for as long as Redis is gone.
 * - Each outage is logged once when it starts and once when it ends (not once per reconnect
 *   attempt), and listeners (the metrics' `parley_redis_up`) see every change.
 * - A command that Redis does not answer in time (a hung or overloaded Redis) fails like one
 *   sent to a closed connection.
 */
import { Redis, ReplyError } from 'ioredis';
import type { EngineLog } from '../engine/engine-log.js';
import { ClusterError } from './cluster-error.js';

/** How to open a {@link RedisLink}. */
export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]` */
  readonly url: string;
  /** What this connection is for (`commands`, `relay reader`, ...): named in its log lines. */
  readonly role: string;
  /** Where outages are reported (pino's shape); default silent. */
  readonly log?: EngineLog;
  /** Longest wait between reconnect attempts; default 1000 ms. */
  readonly reconnectMaxMillis?: number;
  /** A command unanswered after this long fails; 0 for none (blocking reads); default 2000 ms. */
  readonly commandTimeoutMillis?: number;
  /** Batch the commands issued in one tick into one write (a busy command link); default false. */
  readonly autoPipelining?: boolean;
}

/** Replies that mean "not now" rather than "wrong": Redis is starting, busy or failing over. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

/** The URL with its password replaced, for logs. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/** A Redis connection that reports when it goes down and comes back. */
export class RedisLink {
  /** The ioredis client; go through {@link RedisLink.run} so that failures become {@link ClusterError}s. */
  readonly redis: Redis;
  readonly role: string;
  readonly #url: string;
  readonly #log: EngineLog | undefined;
  readonly #listeners = new Set<(up: boolean) => void>();
  #up = false;
  /** Whether the current outage (or the first failed connect) has been logged. */
  #downLogged = false;
  #downSince = Date.now();
  #lastError = '';
  #closing = false;

  constructor(options: RedisLinkOptions) {
    this.role = options.role;
    this.#url = redactedRedisUrl(options.url);
    this.#log = options.log;
    const reconnectMax = options.reconnectMaxMillis ?? 1000;
    const timeout = options.commandTimeoutMillis ?? 2000;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      ...(timeout > 0 ? { commandTimeout: timeout } : {}),
      enableAutoPipelining: options.autoPipelining ?? false,
      // Reconnect for ever, backing off to `reconnectMax`: Redis coming back is the normal case.
      retryStrategy: (attempt) => Math.min(50 * attempt, reconnectMax),
      connectionName: `parley:${options.role.replaceAll(' ', '-')}`,
    });
    // ioredis emits an error per failed attempt; the outage is logged once, with the last one.
    this.redis.on('error', (error: Error) => {
      this.#lastError = error.message;
    });
    this.redis.on('ready', () => this.#becameUp());
    this.redis.on('close', () => this.#becameDown());
    this.redis.on('reconnecting', () => this.#becameDown());
  }

  /** Whether commands can be sent now. */
  get up(): boolean {
    return this.#up;
  }

  /** Calls `listener` with each change of {@link up}; returns a function that removes it. */
  onChange(listener: (up: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once the link is up; rejects with `redis-unavailable` after `timeoutMillis`. */
  whenUp(timeoutMillis = 10_000): Promise<void> {
    if (this.#up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(ClusterError.redisUnavailable(`connecting (${this.role}) within ${timeoutMillis} ms`));
      }, timeoutMillis);
      // Waiting for Redis never keeps a stopping process alive.
      timer.unref();
      const remove = this.onChange((up) => {
        if (!up) return;
        clearTimeout(timer);
        remove();
        resolve();
      });
    });
  }

  /**
   * Runs `command` on the connection. Fails at once with `redis-unavailable` while the link is
   * down, and turns a connection failure, a timeout or a transient reply during the command into
   * the same error; any other reply error (a bug: a wrong command or script) is rethrown as is.
   */
  async run<T>(operation: string, command: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.#up) throw ClusterError.redisUnavailable(operation);
    try {
      return await command(this.redis);
    } catch (error) {
      if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) throw error;
      throw ClusterError.redisUnavailable(operation, error);
    }
  }

  /**
   * Closes the connection for good; no outage is reported for it. Commands still waiting fail.
   * (Not QUIT: it would wait behind a blocking read for as long as the read blocks.)
   */
  close(): Promise<void> {
    this.#closing = true;
    this.#setUp(false);
    this.redis.disconnect();
    return Promise.resolve();
  }

  #becameUp(): void {
    if (this.#up) return;
    if (this.#downLogged) {
      this.#log?.info(
        { redis: this.#url, link: this.role, downMillis: Date.now() - this.#downSince },
        'Redis is reachable again',
      );
    }
    this.#downLogged = false;
    this.#setUp(true);
  }

  #becameDown(): void {
    if (this.#closing) return;
    if (this.#up) this.#downSince = Date.now();
    this.#setUp(false);
    if (this.#downLogged) return;
    this.#downLogged = true;
    // Give the error of this attempt a moment to arrive, so the line says why.
    queueMicrotask(() =>
      this.#log?.warn(
        { redis: this.#url, link: this.role, error: this.#lastError || 'connection closed' },
        'Redis is unreachable: joins are refused and cross-node relay is paused until it is back',
      ),
    );
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    for (const listener of this.#listeners) listener(up);
  }
}
