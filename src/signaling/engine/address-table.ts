/**
 * What each client address holds and how fast it opens sessions: WebSocket connections and
 * pending long-poll requests, open sessions, and a token bucket of handshakes. One table per
 * server. An address is forgotten once it holds nothing and its bucket has refilled, so the
 * table's size follows the addresses that are active, not every address ever seen. Addresses
 * are grouped by {@link addressKey}: an IPv6 client by its /64, which one subscriber holds whole.
 */
import { addressKey } from './client-address.js';
import type { EngineClock } from './clock.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { ResolvedEngineOptions } from './engine-options.js';
import type { EngineStats } from './engine-stats.js';
import { TokenBucket } from './token-bucket.js';

/** Why a connection or handshake is refused: an HTTP status and engine.io-style message. */
export interface Refusal {
  readonly status: '429 Too Many Requests' | '503 Service Unavailable';
  readonly message: string;
}

interface AddressUse {
  connections: number;
  sessions: number;
  handshakes: TokenBucket | null;
}

type Limits = Pick<
  ResolvedEngineOptions,
  'maxConnectionsPerAddress' | 'maxConnections' | 'maxSessionsPerAddress' | 'handshakeRate' | 'handshakeBurst'
>;

/** Per-address and total accounting of one server. */
export class AddressTable {
  private readonly uses = new Map<string, AddressUse>();
  private readonly sweeps: DeadlineQueue<string>;
  private totalConnections = 0;

  constructor(
    private readonly limits: Limits,
    private readonly clock: EngineClock,
    private readonly stats?: EngineStats,
  ) {
    // Time for an emptied bucket to fill up again; after it, an idle address remembers nothing.
    const refillMs = Math.ceil((limits.handshakeBurst / limits.handshakeRate) * 1000);
    this.sweeps = new DeadlineQueue(refillMs, clock, (address) => this.forgetIfIdle(address));
  }

  /** Connections (WebSockets and pending long-polls) open now. */
  get connections(): number {
    return this.totalConnections;
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.uses.size;
  }

  /**
   * Takes a connection slot for `address`, or says why not. Each slot taken must be given back
   * with {@link AddressTable.releaseConnection}.
   */
  takeConnection(address: string): Refusal | undefined {
    if (this.totalConnections >= this.limits.maxConnections) {
      this.stats?.countRefusal('server limit');
      return { status: '503 Service Unavailable', message: 'Server at its connection limit' };
    }
    const use = this.use(address);
    if (use.connections >= this.limits.maxConnectionsPerAddress) {
      this.stats?.countRefusal('address limit');
      return { status: '429 Too Many Requests', message: 'Too many connections from this address' };
    }
    use.connections += 1;
    this.totalConnections += 1;
    return undefined;
  }

  releaseConnection(address: string): void {
    const use = this.uses.get(addressKey(address));
    if (use === undefined || use.connections === 0) return;
    use.connections -= 1;
    this.totalConnections -= 1;
    this.release(address, use);
  }

  /**
   * Admits a new session of `address` (a handshake), or says why not: too many sessions open,
   * or handshakes too fast. An admitted session must be closed with {@link AddressTable.closeSession}.
   */
  openSession(address: string): Refusal | undefined {
    const use = this.use(address);
    if (use.sessions >= this.limits.maxSessionsPerAddress) {
      this.stats?.countRefusal('address limit');
      return { status: '429 Too Many Requests', message: 'Too many sessions from this address' };
    }
    const now = this.clock.now();
    use.handshakes ??= new TokenBucket(this.limits.handshakeRate, this.limits.handshakeBurst, now);
    if (!use.handshakes.take(now)) {
      this.stats?.countRefusal('address limit');
      return { status: '429 Too Many Requests', message: 'Too many handshakes from this address' };
    }
    use.sessions += 1;
    return undefined;
  }

  closeSession(address: string): void {
    const use = this.uses.get(addressKey(address));
    if (use === undefined || use.sessions === 0) return;
    use.sessions -= 1;
    this.release(address, use);
  }

  /** Drops every entry and timer (server close). */
  clear(): void {
    this.uses.clear();
    this.sweeps.clear();
    this.totalConnections = 0;
  }

  private use(address: string): AddressUse {
    const key = addressKey(address);
    let use = this.uses.get(key);
    if (use === undefined) {
      use = { connections: 0, sessions: 0, handshakes: null };
      this.uses.set(key, use);
    }
    return use;
  }

  private release(address: string, use: AddressUse): void {
    if (use.connections > 0 || use.sessions > 0) return;
    const key = addressKey(address);
    if (use.handshakes === null || use.handshakes.isFull(this.clock.now())) this.uses.delete(key);
    else this.sweeps.schedule(key);
  }

  private forgetIfIdle(key: string): void {
    const use = this.uses.get(key);
    if (use !== undefined && use.connections === 0 && use.sessions === 0) this.uses.delete(key);
  }
}
