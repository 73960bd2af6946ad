/**
 * What bench/run.ts and the load generator child process say to each other over IPC: the
 * workload goes in as the first command-line argument (JSON), reports come back as messages.
 */

/** Join `clients` peers (two per room) and hold them idle until told to close. */
export interface IdleWorkload {
  readonly mode: 'idle';
  readonly port: number;
  readonly clients: number;
  readonly roomPrefix: string;
  readonly connectConcurrency: number;
  /** The generator exits on its own after this long, whatever happens. */
  readonly deadlineMillis: number;
}

/** Join `rooms` pairs and relay ping-pong `data` messages, `inFlight` per pair at any time. */
export interface RelayWorkload {
  readonly mode: 'relay';
  readonly port: number;
  readonly rooms: number;
  readonly inFlight: number;
  readonly warmupMillis: number;
  readonly measureMillis: number;
  /** The server process whose CPU time is read at the edges of the measured window. */
  readonly serverPid: number;
  readonly roomPrefix: string;
  readonly connectConcurrency: number;
  readonly deadlineMillis: number;
}

/** A workload for one generator process. */
export type Workload = IdleWorkload | RelayWorkload;

/** The measured window of a relay workload. */
export interface RelayResult {
  readonly kind: 'relay-result';
  /** `data` messages the clients received from the server inside the window. */
  readonly relayed: number;
  readonly windowMillis: number;
  /** Server CPU time (user + system, all threads, from /proc) inside the window. */
  readonly serverCpuMicros: number;
  /** The kernel (system) part of `serverCpuMicros`: mostly socket reads and writes. */
  readonly serverSystemMicros: number;
  /** The generator's own CPU time inside the window (`process.cpuUsage`). */
  readonly generatorCpuMicros: number;
  readonly roundTrips: number;
  readonly roundTripP50Micros: number;
  readonly roundTripP99Micros: number;
}

/** Messages from the generator to the orchestrator. */
export type GeneratorReport =
  | { readonly kind: 'joined'; readonly clients: number; readonly joinMillis: number }
  | { readonly kind: 'closed' }
  | RelayResult
  | { readonly kind: 'failed'; readonly reason: string };

/** Messages from the orchestrator to the generator. */
export type GeneratorCommand = { readonly kind: 'close' };

/**
 * bench/fd-limit.ts: one generator process of several that together fill one server to its
 * open-file limit. It opens `peersPerAddress` peers from each of `localAddresses` (two per
 * room, both from the same address), pacing handshakes per address below the server's
 * per-address rate, holds them joined and then obeys {@link HoldCommand}s.
 */
export interface HoldWorkload {
  readonly mode: 'hold';
  readonly port: number;
  /**
   * The port the second peer of each room connects to (bench/cluster-hold.ts: another node of a
   * cluster, so that every relay crosses nodes); `port` when absent.
   */
  readonly partnerPort?: number;
  readonly localAddresses: readonly string[];
  /** Even, and below the server's connections-per-address limit. */
  readonly peersPerAddress: number;
  /** Handshakes per second per source address after the burst. */
  readonly handshakeRate: number;
  readonly handshakeBurst: number;
  /** Handshakes in flight at once in this process. */
  readonly connectConcurrency: number;
  readonly roomPrefix: string;
  readonly deadlineMillis: number;
}

/** What the fd-limit orchestrator tells a hold generator. */
export type HoldCommand =
  /** Relay at a fixed rate (open loop): `relaysPerSecond` `data` messages, both directions counted. */
  | {
      readonly kind: 'relay';
      readonly relaysPerSecond: number;
      readonly warmupMillis: number;
      readonly measureMillis: number;
    }
  /** Open more peers, from other addresses, and report how each attempt ended; keep those that joined. */
  | {
      readonly kind: 'probe';
      readonly localAddresses: readonly string[];
      readonly peersPerAddress: number;
      readonly timeoutMillis: number;
    }
  | { readonly kind: 'close' };

/** A hold generator's measured relay window. */
export interface HeldRelayResult {
  readonly kind: 'held-relay-result';
  /** `data` messages this generator's peers received inside the window. */
  readonly relayed: number;
  readonly windowMillis: number;
  /** Round trips A → B → A completed in the window, in µs, ascending. */
  readonly roundTripMicros: readonly number[];
  readonly generatorCpuMicros: number;
  /** This generator's event-loop delay in the window (its own stalls, e.g. GC, add to round trips). */
  readonly loopDelayP99Micros: number;
  readonly loopDelayMaxMicros: number;
  /** Peers that failed (closed, errored) since they joined. */
  readonly failedPeers: number;
}

/** Messages from a hold generator. */
export type HoldReport =
  | {
      readonly kind: 'held';
      readonly peers: number;
      readonly joinMillis: number;
      /** Handshakes refused with 429 (too fast from one address) and tried again. */
      readonly retried: number;
    }
  | HeldRelayResult
  | {
      readonly kind: 'probe-result';
      /** How many attempts ended how: 'joined', 'http 503', 'ECONNREFUSED', 'timeout', ... */
      readonly outcomes: Readonly<Record<string, number>>;
      readonly retried: number;
      readonly failedPeers: number;
    }
  | { readonly kind: 'closed' }
  | { readonly kind: 'failed'; readonly reason: string };
