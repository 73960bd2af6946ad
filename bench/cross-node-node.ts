/**
 * One "node" of the cross-node relay benchmark (bench/cross-node-relay.ts), as its own process:
 * - `echo`: relays every packet it is handed back to where it came from, through the bus;
 * - `sender`: keeps `inFlight` packets in flight per pair to the echo node (or paces them at
 *   `rate` relays a second), times each round trip, and reads the CPU time of every process
 *   involved at the edges of the measured window;
 * - `local`: both ends in this one process, handed over through the event loop instead of Redis:
 *   the same load delivered locally.
 * The workload is the first argument (JSON); reports go back over IPC.
 */
import { ClusterKeys } from '../src/signaling/cluster/cluster-keys.js';
import { NodeDirectory } from '../src/signaling/cluster/node-directory.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RelayBus } from '../src/signaling/cluster/relay-bus.js';
import { readProcessCpu } from './proc-stats.js';
import { candidateFrame, nowMicros, percentile } from './relay-frames.js';

/** What one node process is told to do. */
export interface CrossNodeWorkload {
  readonly role: 'echo' | 'sender' | 'local';
  readonly url: string;
  readonly nodeId: string;
  /** The other node (the echo node, for the sender; the sender, for the echo node). */
  readonly peerNodeId: string;
  readonly pairs: number;
  readonly inFlight: number;
  /** Relays a second (each round trip is two); 0 for as many as `inFlight` allows. */
  readonly rate: number;
  readonly warmupMillis: number;
  readonly measureMillis: number;
  /** Processes whose CPU is read at the window's edges (besides this one). */
  readonly pids: Readonly<Record<string, number>>;
}

/** What the sender (or the local node) reports. */
export interface CrossNodeResult {
  readonly kind: 'result';
  /** Packets handed over inside the window, both directions. */
  readonly relayed: number;
  readonly windowMillis: number;
  readonly roundTripP50Micros: number;
  readonly roundTripP99Micros: number;
  /** CPU time (user + system) inside the window, by process name (`self` is this one). */
  readonly cpuMicros: Readonly<Record<string, number>>;
}

export type CrossNodeReport =
  { readonly kind: 'ready' } | CrossNodeResult | { readonly kind: 'failed'; reason: string };

const workload = JSON.parse(process.argv[2] ?? '{}') as CrossNodeWorkload;
const report = (message: CrossNodeReport) => process.send?.(message);

/** A way to hand `text` to socket `to` on the other end. */
type Send = (to: string, text: string) => void;

async function openBus(deliver: (socketId: string, text: string) => void) {
  const commands = new RedisLink({ url: workload.url, role: 'commands' });
  const reader = new RedisLink({ url: workload.url, role: 'relay reader', commandTimeoutMillis: 0 });
  await Promise.all([commands.whenUp(), reader.whenUp()]);
  const keys = new ClusterKeys();
  const directory = new NodeDirectory({ nodeId: workload.nodeId, link: commands, keys, releaseSeat: async () => {} });
  await directory.start();
  const bus = new RelayBus({ nodeId: workload.nodeId, commands, reader, keys, deliver });
  bus.start();
  return bus;
}

function cpuOf(pid: number): number {
  const { userMicros, systemMicros } = readProcessCpu(pid);
  return userMicros + systemMicros;
}

function readCpu(): Record<string, number> {
  const readings: Record<string, number> = { self: cpuOf(process.pid) };
  for (const [name, pid] of Object.entries(workload.pids)) readings[name] = cpuOf(pid);
  return readings;
}

/** Drives the pairs through `send`, and returns what to call when a packet comes back. */
function runSender(send: Send): (socketId: string) => void {
  const pending: number[][] = Array.from({ length: workload.pairs }, () => []);
  const samples: number[] = [];
  let measuring = false;
  let relayed = 0;
  let cpuStart: Record<string, number> = {};
  let windowStart = 0;
  const ping = (pair: number) => {
    const sent = nowMicros();
    pending[pair].push(sent);
    send(`b${pair}`, candidateFrame(sent));
  };
  const arrived = (socketId: string) => {
    const pair = Number(socketId.slice(1));
    const sent = pending[pair].shift();
    if (sent === undefined) throw new Error(`a packet for ${socketId} nobody sent`);
    if (measuring) {
      relayed += 2;
      samples.push(nowMicros() - sent);
    }
    if (workload.rate === 0) ping(pair);
  };
  if (workload.rate === 0) {
    for (let pair = 0; pair < workload.pairs; pair++) for (let i = 0; i < workload.inFlight; i++) ping(pair);
  } else {
    // Round trips owed by the clock, checked every millisecond: small, even bursts whatever the timer's drift.
    const perMilli = workload.rate / 2 / 1000;
    const started = performance.now();
    let issued = 0;
    let next = 0;
    setInterval(() => {
      const owed = Math.floor((performance.now() - started) * perMilli);
      for (; issued < owed; issued++) ping(next++ % workload.pairs);
    }, 1);
  }
  setTimeout(() => {
    measuring = true;
    cpuStart = readCpu();
    windowStart = nowMicros();
    setTimeout(() => {
      measuring = false;
      const windowMillis = (nowMicros() - windowStart) / 1000;
      const cpuEnd = readCpu();
      samples.sort((x, y) => x - y);
      const cpuMicros = Object.fromEntries(Object.entries(cpuEnd).map(([name, end]) => [name, end - cpuStart[name]]));
      report({
        kind: 'result',
        relayed,
        windowMillis,
        roundTripP50Micros: percentile(samples, 0.5),
        roundTripP99Micros: percentile(samples, 0.99),
        cpuMicros,
      });
      setTimeout(() => process.exit(0), 50);
    }, workload.measureMillis);
  }, workload.warmupMillis);
  return arrived;
}

try {
  switch (workload.role) {
    case 'echo': {
      const bus: RelayBus = await openBus((socketId, text) => {
        void bus.send(workload.peerNodeId, `a${socketId.slice(1)}`, text);
      });
      report({ kind: 'ready' });
      break;
    }
    case 'sender': {
      let arrived: (socketId: string) => void = () => {};
      const bus = await openBus((socketId) => arrived(socketId));
      arrived = runSender((to, text) => void bus.send(workload.peerNodeId, to, text));
      break;
    }
    case 'local': {
      // Handed over in batches on the next turn of the event loop, as a socket's reads would be.
      let queue: Array<[string, string]> = [];
      let arrived: (socketId: string) => void = () => {};
      const flush = () => {
        const batch = queue;
        queue = [];
        for (const [to, text] of batch) {
          if (to.startsWith('b')) send(`a${to.slice(1)}`, text);
          else arrived(to);
        }
      };
      const send: Send = (to, text) => {
        if (queue.push([to, text]) === 1) setImmediate(flush);
      };
      arrived = runSender(send);
      break;
    }
  }
} catch (error) {
  report({ kind: 'failed', reason: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
