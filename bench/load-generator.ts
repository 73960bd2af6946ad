/**
 * The load generator, one child process per workload, the same for every server. It joins
 * pairs of {@link WirePeer}s and either holds them idle (for memory per connection) or runs
 * closed-loop ping-pong relays (for CPU per relayed message and round-trip time).
 *
 * Relay workload: in each room the peer that got `ready` keeps `inFlight` candidate messages
 * in flight. Its peer echoes every `data` frame back byte for byte; when an echo returns, the
 * originator records the round trip and sends a fresh message. Each message carries its send
 * time (microseconds) as the candidate's foundation, found with one `indexOf` instead of a
 * JSON parse.
 *
 * Run by bench/run.ts: `node --import tsx bench/load-generator.ts '<Workload JSON>'` with IPC.
 */
import { performance } from 'node:perf_hooks';
import type { GeneratorCommand, GeneratorReport, IdleWorkload, RelayWorkload, Workload } from './generator-protocol.js';
import { readProcessCpu } from './proc-stats.js';
import { candidateFrame, nowMicros, percentile, sentMicrosOf } from './relay-frames.js';
import { WirePeer, type WirePeerListener } from './wire-peer.js';

const MAX_ROUND_TRIP_SAMPLES = 8_000_000;
const CLOSE_TIMEOUT_MILLIS = 3000;

/** Sends a report to the orchestrator; resolves once it is handed to the IPC channel. */
function report(message: GeneratorReport): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      // Run by hand, without IPC: print the report instead.
      console.log(JSON.stringify(message));
      return resolve();
    }
    process.send(message, undefined, undefined, () => resolve());
  });
}

/** Tracks which peers have joined and which rooms are ready, and turns failures into a report. */
class JoinTracker {
  private joinedCount = 0;
  private readyCount = 0;
  private joinWaiter: { target: number; resolve: () => void } | undefined;
  private readyWaiter: { target: number; resolve: () => void } | undefined;
  failure: string | undefined;
  private failureWaiter: ((reason: string) => void) | undefined;

  onJoined(): void {
    this.joinedCount++;
    if (this.joinWaiter !== undefined && this.joinedCount >= this.joinWaiter.target) this.joinWaiter.resolve();
  }

  onReady(): void {
    this.readyCount++;
    if (this.readyWaiter !== undefined && this.readyCount >= this.readyWaiter.target) this.readyWaiter.resolve();
  }

  onFailed(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.failureWaiter?.(reason);
  }

  /** Resolves when `joined` peers have joined and `ready` rooms are ready; rejects on a failure. */
  waitFor(joined: number, ready: number, timeoutMillis: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out after ${timeoutMillis} ms: ${this.joinedCount}/${joined} joined, ${this.readyCount}/${ready} ready`,
            ),
          ),
        timeoutMillis,
      );
      let pending = 2;
      const settle = () => {
        if (--pending === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.failureWaiter = (reason) => {
        clearTimeout(timer);
        reject(new Error(reason));
      };
      if (this.failure !== undefined) return this.failureWaiter(this.failure);
      if (this.joinedCount >= joined) settle();
      else this.joinWaiter = { target: joined, resolve: settle };
      if (this.readyCount >= ready) settle();
      else this.readyWaiter = { target: ready, resolve: settle };
    });
  }
}

/**
 * Opens the first peer of every room, waits until they have joined, then the second peers, so
 * the first peer is the one that gets `ready`. At most `concurrency` handshakes are in flight.
 */
async function joinPairs(
  port: number,
  rooms: readonly string[],
  concurrency: number,
  listener: WirePeerListener,
  tracker: JoinTracker,
  timeoutMillis: number,
): Promise<WirePeer[]> {
  const peers: WirePeer[] = [];
  try {
    for (const [wave, readyTarget] of [
      [0, 0],
      [1, rooms.length],
    ] as const) {
      for (let start = 0; start < rooms.length; start += concurrency) {
        for (const room of rooms.slice(start, start + concurrency)) peers.push(new WirePeer(port, room, listener));
        await tracker.waitFor(wave * rooms.length + Math.min(start + concurrency, rooms.length), 0, timeoutMillis);
      }
      await tracker.waitFor((wave + 1) * rooms.length, readyTarget, timeoutMillis);
    }
  } catch (error) {
    const count = (pick: (peer: WirePeer) => boolean) => peers.filter(pick).length;
    throw new Error(
      `${error instanceof Error ? error.message : String(error)} (of ${peers.length} peers opened: ` +
        `${count((p) => p.progress.connectAcknowledged)} got the CONNECT ack, ${count((p) => p.progress.role)} got role, ` +
        `${count((p) => p.progress.iceServers)} got ice-servers)`,
      { cause: error },
    );
  }
  return peers;
}

function roomNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${index}`);
}

async function closeAll(peers: readonly WirePeer[]): Promise<void> {
  await Promise.all(peers.map((peer) => peer.close(CLOSE_TIMEOUT_MILLIS)));
}

async function runIdle(workload: IdleWorkload): Promise<void> {
  const tracker = new JoinTracker();
  const listener: WirePeerListener = {
    joined: () => tracker.onJoined(),
    ready: () => tracker.onReady(),
    data: () => {},
    failed: (_, reason) => tracker.onFailed(reason),
  };
  const started = performance.now();
  const rooms = roomNames(workload.roomPrefix, Math.ceil(workload.clients / 2));
  const peers = await joinPairs(workload.port, rooms, workload.connectConcurrency, listener, tracker, 30_000);
  await report({ kind: 'joined', clients: peers.length, joinMillis: performance.now() - started });
  await new Promise<void>((resolve) => {
    process.on('message', (command: GeneratorCommand) => {
      if (command.kind === 'close') resolve();
    });
  });
  await closeAll(peers);
  await report({ kind: 'closed' });
}

async function runRelay(workload: RelayWorkload): Promise<void> {
  const tracker = new JoinTracker();
  const roundTrips = new Uint32Array(MAX_ROUND_TRIP_SAMPLES);
  let roundTripCount = 0;
  let relayed = 0;
  let measuring = false;
  let sending = true;

  const listener: WirePeerListener = {
    joined: () => tracker.onJoined(),
    ready: (peer) => {
      tracker.onReady();
      for (let slot = 0; slot < workload.inFlight; slot++) peer.send(candidateFrame(nowMicros()));
    },
    data: (peer, frame) => {
      relayed++;
      if (!sending) return;
      if (!peer.isOriginator) {
        peer.sendFrame(frame);
        return;
      }
      const now = nowMicros();
      const sent = sentMicrosOf(frame);
      if (measuring && sent >= 0 && roundTripCount < MAX_ROUND_TRIP_SAMPLES) roundTrips[roundTripCount++] = now - sent;
      peer.send(candidateFrame(now));
    },
    failed: (_, reason) => tracker.onFailed(reason),
  };

  const rooms = roomNames(workload.roomPrefix, workload.rooms);
  const peers = await joinPairs(workload.port, rooms, workload.connectConcurrency, listener, tracker, 30_000);
  await sleep(workload.warmupMillis);
  throwIfFailed(tracker);

  const startRelayed = relayed;
  const startServerCpu = readProcessCpu(workload.serverPid);
  const startOwnCpu = process.cpuUsage();
  const startTime = performance.now();
  measuring = true;
  await sleep(workload.measureMillis);
  measuring = false;
  const endTime = performance.now();
  const endServerCpu = readProcessCpu(workload.serverPid);
  const ownCpu = process.cpuUsage(startOwnCpu);
  const endRelayed = relayed;
  sending = false;
  throwIfFailed(tracker);

  const sorted = roundTrips.subarray(0, roundTripCount).sort();
  await report({
    kind: 'relay-result',
    relayed: endRelayed - startRelayed,
    windowMillis: endTime - startTime,
    serverCpuMicros:
      endServerCpu.userMicros + endServerCpu.systemMicros - (startServerCpu.userMicros + startServerCpu.systemMicros),
    serverSystemMicros: endServerCpu.systemMicros - startServerCpu.systemMicros,
    generatorCpuMicros: ownCpu.user + ownCpu.system,
    roundTrips: roundTripCount,
    roundTripP50Micros: percentile(sorted, 0.5),
    roundTripP99Micros: percentile(sorted, 0.99),
  });
  await closeAll(peers);
}

function throwIfFailed(tracker: JoinTracker): void {
  if (tracker.failure !== undefined) throw new Error(`a peer failed: ${tracker.failure}`);
}

function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

const workload = JSON.parse(process.argv[2] ?? 'null') as Workload | null;
if (workload === null) throw new Error('usage: load-generator.ts <Workload JSON>');
// Bounded whatever happens: the generator never outlives its deadline.
setTimeout(() => {
  void report({ kind: 'failed', reason: `generator deadline of ${workload.deadlineMillis} ms passed` }).then(() =>
    process.exit(2),
  );
}, workload.deadlineMillis).unref();

try {
  await (workload.mode === 'idle' ? runIdle(workload) : runRelay(workload));
  process.exit(0);
} catch (error) {
  await report({ kind: 'failed', reason: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
