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
