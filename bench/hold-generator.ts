/**
 * A hold generator for bench/fd-limit.ts: one of several processes that together fill one
 * server to its open-file limit. It joins {@link WirePeer} pairs from many loopback source
 * addresses, pacing handshakes per address below the server's per-address rate, holds them and
 * obeys the orchestrator's commands: relay at a fixed rate (open loop, so the rate is the load,
 * not the latency), probe with more connections than the server will take, close.
 *
 * Round trips are A → server → B → server → A in this one process: B echoes each `data` frame
 * back unchanged and A reads its own send time out of the echo (bench/relay-frames.ts).
 *
 * Run by bench/fd-limit.ts: `node --import tsx bench/hold-generator.ts '<HoldWorkload JSON>'` with IPC.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { HeldRelayResult, HoldCommand, HoldReport, HoldWorkload } from './generator-protocol.js';
import { candidateFrame, nowMicros, sentMicrosOf } from './relay-frames.js';
import { WirePeer, type WirePeerListener } from './wire-peer.js';

/** How often the open-loop sender and the handshake pacer wake up. */
const TICK_MILLIS = 5;
const JOIN_TIMEOUT_MILLIS = 20_000;
const CLOSE_TIMEOUT_MILLIS = 5000;
/** A handshake refused with 429 is tried again this much later, at most this many times. */
const RETRY_DELAY_MILLIS = 1000;
const MAX_RETRIES = 5;

/** How one connection attempt ended: 'joined', or why not ('http 503', 'ECONNREFUSED', 'timeout', ...). */
type Outcome = string;

function report(message: HoldReport): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(message));
      return resolve();
    }
    process.send(message, undefined, undefined, () => resolve());
  });
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis));

/** Names a failure the way the report tallies it. */
function classify(reason: string): Outcome {
  const status = /Unexpected server response: (\d+)/.exec(reason);
  if (status !== null) return `http ${status[1]}`;
  const code = /\b(E[A-Z]{3,})\b/.exec(reason);
  if (code !== null) return code[1];
  if (/socket hang up/.test(reason)) return 'ECONNRESET';
  const error = /"code":"([\w-]+)"/.exec(reason);
  if (error !== null) return `error ${error[1]}`;
  return reason.slice(0, 60);
}

/** One attempt to open and join a peer. */
interface Attempt {
  readonly peer: WirePeer;
  outcome: Outcome | undefined;
  settle: (() => void) | undefined;
}

class HoldGenerator {
  private readonly attempts = new Map<WirePeer, Attempt>();
  /** Joined peers that failed afterwards. */
  private failedAfterJoin = 0;
  private measuring = false;
  private relayed = 0;
  private roundTrips: number[] = [];

  private readonly listener: WirePeerListener = {
    joined: (peer) => this.settle(peer, 'joined'),
    ready: () => {},
    data: (peer, frame) => {
      if (this.measuring) this.relayed++;
      if (!peer.isOriginator) {
        peer.sendFrame(frame);
        return;
      }
      if (!this.measuring) return;
      const sent = sentMicrosOf(frame);
      if (sent >= 0) this.roundTrips.push(nowMicros() - sent);
    },
    failed: (peer, reason) => {
      const attempt = this.attempts.get(peer);
      if (attempt?.outcome === 'joined') this.failedAfterJoin++;
      else this.settle(peer, classify(reason));
    },
  };

  constructor(private readonly workload: HoldWorkload) {}

  /** Opens and joins every peer of the workload; fails unless all of them join. */
  async hold(): Promise<HoldReport> {
    const started = performance.now();
    const { outcomes, retried } = await this.openPaced(
      this.workload.localAddresses,
      this.workload.peersPerAddress,
      'hold',
    );
    const joined = outcomes['joined'] ?? 0;
    const expected = this.workload.localAddresses.length * this.workload.peersPerAddress;
    if (joined < expected) {
      return { kind: 'failed', reason: `${joined} of ${expected} peers joined: ${JSON.stringify(outcomes)}` };
    }
    return { kind: 'held', peers: joined, joinMillis: performance.now() - started, retried };
  }

  /** Sends `data` at a fixed rate from every room's originator in turn; measures one window. */
  async relay(command: Extract<HoldCommand, { kind: 'relay' }>): Promise<HeldRelayResult> {
    const originators = [...this.attempts.values()]
      .filter((attempt) => attempt.outcome === 'joined' && attempt.peer.isOriginator)
      .map((attempt) => attempt.peer);
    if (originators.length === 0) throw new Error('no room is ready: nobody can originate');
    // Each message sent is relayed twice: to the echoing peer, and back.
    const sendsPerSecond = command.relaysPerSecond / 2;
    const started = performance.now();
    let sent = 0;
    let cursor = 0;
    const sender = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * sendsPerSecond);
      const now = nowMicros();
      for (; sent < due; sent++) {
        originators[cursor].send(candidateFrame(now));
        cursor = (cursor + 1) % originators.length;
      }
    }, TICK_MILLIS);
    try {
      await sleep(command.warmupMillis);
      this.relayed = 0;
      this.roundTrips = [];
      const ownCpu = process.cpuUsage();
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      const windowStart = performance.now();
      this.measuring = true;
      await sleep(command.measureMillis);
      this.measuring = false;
      loopDelay.disable();
      const windowMillis = performance.now() - windowStart;
      const cpu = process.cpuUsage(ownCpu);
      return {
        kind: 'held-relay-result',
        relayed: this.relayed,
        windowMillis,
        roundTripMicros: this.roundTrips.sort((a, b) => a - b),
        generatorCpuMicros: cpu.user + cpu.system,
        loopDelayP99Micros: loopDelay.percentile(99) / 1000,
        loopDelayMaxMicros: loopDelay.max / 1000,
        failedPeers: this.failedAfterJoin,
      };
    } finally {
      clearInterval(sender);
    }
  }

  /** Opens more peers from `localAddresses`; tallies how each attempt ended. */
  async probe(command: Extract<HoldCommand, { kind: 'probe' }>): Promise<HoldReport> {
    const { outcomes, retried } = await this.openPaced(
      command.localAddresses,
      command.peersPerAddress,
      'probe',
      command.timeoutMillis,
    );
    return { kind: 'probe-result', outcomes, retried, failedPeers: this.failedAfterJoin };
  }

  async close(): Promise<void> {
    await Promise.all([...this.attempts.keys()].map((peer) => peer.close(CLOSE_TIMEOUT_MILLIS)));
  }

  /**
   * Opens `perAddress` peers from each address, two per room. Each address has a token bucket
   * like the server's (`handshakeBurst` at once, then `handshakeRate` a second) on real send
   * times, so that catching up after a stall never bursts past it; at most
   * `connectConcurrency` handshakes are in flight in all. A handshake refused with 429 (the
   * server saw them bunched up after all) is retried a second later, as a socket.io-client with
   * reconnection would. Resolves with the tally once every peer joined or finally failed.
   */
  private async openPaced(
    addresses: readonly string[],
    perAddress: number,
    roomTag: string,
    timeoutMillis = JOIN_TIMEOUT_MILLIS,
  ): Promise<{ outcomes: Record<Outcome, number>; retried: number }> {
    const { handshakeBurst, handshakeRate, connectConcurrency, port, roomPrefix } = this.workload;
    const partnerPort = this.workload.partnerPort ?? port;
    const queues = addresses.map((address, addressIndex) => ({
      address,
      pending: Array.from({ length: perAddress }, (_, index) => ({
        room: `${roomPrefix}${roomTag}-${addressIndex}-${index >> 1}`,
        port: index % 2 === 0 ? port : partnerPort,
        retries: 0,
      })),
      tokens: handshakeBurst,
      refilledAt: performance.now(),
    }));
    type Queue = (typeof queues)[number];
    const total = addresses.length * perAddress;
    const outcomes: Record<Outcome, number> = {};
    let inFlight = 0;
    let ended = 0;
    let retried = 0;
    let turn = 0;
    await new Promise<void>((resolve) => {
      const open = (queue: Queue, room: string, peerPort: number, retries: number) => {
        inFlight++;
        const peer = new WirePeer(peerPort, room, this.listener, queue.address);
        const attempt: Attempt = { peer, outcome: undefined, settle: undefined };
        const timer = setTimeout(() => {
          this.settle(peer, 'timeout');
          void peer.close(0);
        }, timeoutMillis);
        attempt.settle = () => {
          clearTimeout(timer);
          inFlight--;
          const outcome = attempt.outcome ?? 'unknown';
          if (outcome === 'http 429' && retries < MAX_RETRIES) {
            this.attempts.delete(peer);
            retried++;
            setTimeout(() => queue.pending.push({ room, port: peerPort, retries: retries + 1 }), RETRY_DELAY_MILLIS);
            return;
          }
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          if (++ended === total) {
            clearInterval(pacer);
            resolve();
          }
        };
        this.attempts.set(peer, attempt);
      };
      const openDue = () => {
        const now = performance.now();
        // Start with a different address each tick, so that none is always served last.
        for (let index = 0; index < queues.length && inFlight < connectConcurrency; index++) {
          const queue = queues[(turn + index) % queues.length];
          queue.tokens = Math.min(handshakeBurst, queue.tokens + ((now - queue.refilledAt) * handshakeRate) / 1000);
          queue.refilledAt = now;
          while (queue.pending.length > 0 && queue.tokens >= 1 && inFlight < connectConcurrency) {
            const { room, port: peerPort, retries } = queue.pending.shift() as (typeof queue.pending)[number];
            queue.tokens -= 1;
            open(queue, room, peerPort, retries);
          }
        }
        turn++;
      };
      const pacer = setInterval(openDue, TICK_MILLIS);
      openDue();
    });
    return { outcomes, retried };
  }

  private settle(peer: WirePeer, outcome: Outcome): void {
    const attempt = this.attempts.get(peer);
    if (attempt === undefined || attempt.outcome !== undefined) return;
    attempt.outcome = outcome;
    attempt.settle?.();
  }
}

const workload = JSON.parse(process.argv[2] ?? 'null') as HoldWorkload | null;
if (workload === null) throw new Error('usage: hold-generator.ts <HoldWorkload JSON>');
setTimeout(() => {
  void report({ kind: 'failed', reason: `generator deadline of ${workload.deadlineMillis} ms passed` }).then(() =>
    process.exit(2),
  );
}, workload.deadlineMillis).unref();

const generator = new HoldGenerator(workload);
const commands: HoldCommand[] = [];
let wake: (() => void) | undefined;
process.on('message', (command: HoldCommand) => {
  commands.push(command);
  wake?.();
});
const nextCommand = async (): Promise<HoldCommand> => {
  while (commands.length === 0) await new Promise<void>((resolve) => (wake = resolve));
  return commands.shift() as HoldCommand;
};

try {
  const held = await generator.hold();
  await report(held);
  if (held.kind === 'failed') process.exit(1);
  for (;;) {
    const command = await nextCommand();
    if (command.kind === 'relay') await report(await generator.relay(command));
    else if (command.kind === 'probe') await report(await generator.probe(command));
    else break;
  }
  await generator.close();
  await report({ kind: 'closed' });
  process.exit(0);
} catch (error) {
  await report({ kind: 'failed', reason: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
