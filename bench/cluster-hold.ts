/**
 * Whole Parley nodes in a cluster (`parley serve --redis`) on one redis-server, loaded by real
 * clients over WebSocket (bench/hold-generator.ts), in two parts:
 *
 * 1. The rate check: two nodes A and B, a small set of pairs relaying at a fixed rate, first with
 *    both peers of every pair on A (single-node relay, through the same clustered node), then with
 *    every peer on A and its partner on B. Every relay passes through A either way, so A's CPU per
 *    relayed message gives the rate A can relay at (one core's worth); the ratio of the two rates
 *    is what the issue asks to keep at 0.5 or more.
 * 2. The hold: three nodes, each under its 20,000-file limit, fill to `connections` joined
 *    connections, two per room with the two peers of each room on different nodes, so that every
 *    relay crosses nodes; held, then relayed at a fixed rate: round trip p50 and p99, CPU per
 *    relayed message of the nodes and of redis-server.
 *
 * The nodes run as they ship (`bin/parley.js serve` with its shebang's Node flags) except for the
 * per-address limits, lifted as in the comparison bench (bench/run.ts): every client comes from
 * loopback. The clients still spread over source addresses (96 peers each), because one source
 * address has only ~28,000 ephemeral ports to one destination. Each generator process holds a
 * third of the connections, under its own 20,000-file limit.
 *
 * Run by `npm run bench` with BENCH_CLUSTER_HOLD=1 (it writes its section into docs/scaling.md;
 * in quick mode it prints it), or alone:
 *
 *   npm run build && node --import tsx bench/cluster-hold.ts      (prints the section)
 *   BENCH_OUTPUT=docs/scaling.md node --import tsx bench/cluster-hold.ts  (also writes it there)
 *
 * Environment (defaults in brackets): BENCH_CLUSTER_CONNECTIONS [50000], BENCH_CLUSTER_RATE
 * [10000] relays/s while held, BENCH_CLUSTER_SECONDS [10], BENCH_CLUSTER_CHECK_PEERS [960] and
 * BENCH_CLUSTER_CHECK_RATE [10000] relays/s for the rate check.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import {
  ChildSet,
  envNumber,
  forkReporting,
  freePort,
  type ReportingChild,
  sleep,
  waitForExit,
} from './child-processes.js';
import type { HeldRelayResult, HoldCommand, HoldReport, HoldWorkload } from './generator-protocol.js';
import {
  readMachineBusyMicros,
  readOpenFileCount,
  readOpenFileLimit,
  readProcessCpu,
  readProcessRssBytes,
  type ProcessCpuTime,
} from './proc-stats.js';
import { percentile } from './relay-frames.js';
import { withSection } from './doc-section.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const holdGeneratorEntry = fileURLToPath(new URL('hold-generator.ts', import.meta.url));

export const CLUSTER_HOLD_BEGIN = '<!-- cluster-hold:begin -->';
export const CLUSTER_HOLD_END = '<!-- cluster-hold:end -->';

const NODES = 3;
/** Generators of the hold, one per node: generator g opens on node g and node g + 1. */
const GENERATORS = NODES;
const PEERS_PER_ADDRESS = 96;
/** Per source address; the nodes' per-address limits are lifted, so this only spreads the load. */
const HANDSHAKE_RATE = 200;
const HANDSHAKE_BURST = 200;
const CONNECT_CONCURRENCY = 200;
const SETTLE_MILLIS = 3000;
/** How long the nodes get to release every seat once the clients have gone. */
const RELEASE_TIMEOUT_MILLIS = 20_000;
const WARMUP_MILLIS = 2000;
const CHECK_SECONDS = 5;
/** The rate check reads the nodes' CPU with the peers joined and silent this long, before relaying. */
const CHECK_IDLE_MILLIS = 2000;
/** The hold reads the nodes' and Redis's CPU with every connection held and silent this long. */
const HOLD_IDLE_MILLIS = 4000;
const SERVER_START_TIMEOUT_MILLIS = 20_000;
const GENERATOR_DEADLINE_MILLIS = 5 * 60_000;
/** Everything stops by this time when run alone, whatever hangs. */
const BENCH_DEADLINE_MILLIS = 8 * 60_000;
/** Parley's per-address limits, lifted: all the load comes from loopback (see bench/run.ts). */
const LIFTED_LIMITS = [
  '--max-connections-per-address',
  '1000000',
  '--max-sessions-per-address',
  '1000000',
  '--handshake-rate',
  '1000000',
  '--message-rate',
  '1000000',
];

/** What the bench is asked to do. */
export interface ClusterHoldConfig {
  readonly connections: number;
  readonly relaysPerSecond: number;
  readonly measureSeconds: number;
  readonly checkPeers: number;
  readonly checkRelaysPerSecond: number;
}

/** The configuration from BENCH_CLUSTER_* variables. */
export function clusterHoldConfigFromEnv(): ClusterHoldConfig {
  return {
    connections: envNumber('BENCH_CLUSTER_CONNECTIONS', 50_000),
    relaysPerSecond: envNumber('BENCH_CLUSTER_RATE', 10_000),
    measureSeconds: envNumber('BENCH_CLUSTER_SECONDS', 10),
    checkPeers: envNumber('BENCH_CLUSTER_CHECK_PEERS', 960),
    checkRelaysPerSecond: envNumber('BENCH_CLUSTER_CHECK_RATE', 10_000),
  };
}

/** 127.0.0.2, 127.0.0.3, ...: all loopback (RFC 1122 3.2.1.3). */
function loopbackAddress(index: number): string {
  const host = index + 1;
  return `127.0.${Math.floor(host / 254)}.${(host % 254) + 1}`;
}

/** The Node flags Parley's binary declares on its shebang line: Parley is measured as it ships. */
function parleyNodeFlags(): string[] {
  const shebang = readFileSync(`${repoRoot}bin/parley.js`, 'utf8').split('\n', 1)[0];
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

function cpuMicros(cpu: ProcessCpuTime): number {
  return cpu.userMicros + cpu.systemMicros;
}

async function readSessions(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json()) as { sessions?: number };
    return response.status === 200 ? (body.sessions ?? NaN) : NaN;
  } catch {
    return NaN;
  }
}

interface ClusterNode {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly command: string;
  output(): string;
  /** How many warnings and errors (pino levels 40 and up) it logged, by message, for the report. */
  readonly warnings: Map<string, number>;
}

async function startNode(children: ChildSet, redisUrl: string): Promise<ClusterNode> {
  if (!existsSync(`${repoRoot}dist/signaling/cli.js`)) throw new Error('dist/signaling/cli.js missing: npm run build');
  const port = await freePort();
  const args = [
    ...parleyNodeFlags(),
    'bin/parley.js',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--redis',
    redisUrl,
    ...LIFTED_LIMITS,
  ];
  // Parley reads PARLEY_* variables; the bench gives it only its command line.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  const child = children.track(
    spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let tail = '';
  const warnings = new Map<string, number>();
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-6000);
    for (const line of text.split('\n')) {
      if (!/"level":(4|5|6)0/.test(line)) continue;
      const message = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 200);
      const error = /"error":"([^"]*)"/.exec(line)?.[1];
      const key = error === undefined ? message : `${message}: ${error}`;
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error('a Parley node did not start');
  const deadline = Date.now() + SERVER_START_TIMEOUT_MILLIS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`a Parley node exited with ${child.exitCode}:\n${tail}`);
    if (!Number.isNaN(await readSessions(port))) {
      const command = `node ${args.join(' ')}`
        .replace(String(port), 'PORT')
        .replace(redisUrl, 'redis://127.0.0.1:REDIS_PORT');
      return { child, pid: child.pid, port, command, output: () => tail, warnings };
    }
    await sleep(100);
  }
  throw new Error(`a Parley node did not answer /healthz within ${SERVER_START_TIMEOUT_MILLIS} ms:\n${tail}`);
}

async function stopNode(node: ClusterNode): Promise<void> {
  if (node.child.exitCode !== null) return;
  const exited = waitForExit(node.child);
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function expectHold<K extends HoldReport['kind']>(
  generator: ReportingChild<HoldReport>,
  kind: K,
): Promise<Extract<HoldReport, { kind: K }>> {
  const report = await generator.next();
  if (report.kind === 'failed') throw new Error(`hold generator failed: ${report.reason}`);
  if (report.kind !== kind) throw new Error(`expected ${kind} from a hold generator, got ${report.kind}`);
  return report as Extract<HoldReport, { kind: K }>;
}

/** A fixed-rate relay window over generators, with the CPU of the watched processes inside it. */
interface RelayWindow {
  readonly relayed: number;
  readonly windowMillis: number;
  /** CPU µs of each watched process inside the window, in the order given. */
  readonly cpuMicros: readonly number[];
  readonly roundTripP50Micros: number;
  readonly roundTripP99Micros: number;
  readonly roundTripMaxMicros: number;
  readonly failedPeers: number;
  /** The generators' own CPU and worst event-loop delay p99: their stalls add to round trips. */
  readonly generatorCpuMicros: number;
  readonly generatorLoopDelayP99Micros: number;
  /** CPU time the whole machine was busy in the window (every core, every process). */
  readonly machineBusyMicros: number;
}

async function relayWindow(
  generators: readonly ReportingChild<HoldReport>[],
  relaysPerSecond: number,
  measureMillis: number,
  watched: readonly number[],
): Promise<RelayWindow> {
  const command: HoldCommand = {
    kind: 'relay',
    relaysPerSecond: relaysPerSecond / generators.length,
    warmupMillis: WARMUP_MILLIS,
    measureMillis,
  };
  for (const generator of generators) generator.child.send(command);
  await sleep(WARMUP_MILLIS);
  const before = watched.map((pid) => cpuMicros(readProcessCpu(pid)));
  const machineBefore = readMachineBusyMicros();
  const started = performance.now();
  await sleep(measureMillis);
  const after = watched.map((pid) => cpuMicros(readProcessCpu(pid)));
  const machineBusyMicros = readMachineBusyMicros() - machineBefore;
  const windowMillis = performance.now() - started;
  const results: HeldRelayResult[] = await Promise.all(
    generators.map((generator) => expectHold(generator, 'held-relay-result')),
  );
  const roundTrips = results.flatMap((result) => result.roundTripMicros).sort((a, b) => a - b);
  return {
    relayed: results.reduce((sum, result) => sum + result.relayed, 0),
    windowMillis,
    cpuMicros: after.map((value, index) => value - before[index]),
    roundTripP50Micros: percentile(roundTrips, 0.5),
    roundTripP99Micros: percentile(roundTrips, 0.99),
    roundTripMaxMicros: roundTrips.at(-1) ?? NaN,
    failedPeers: results.reduce((sum, result) => sum + result.failedPeers, 0),
    generatorCpuMicros: results.reduce((sum, result) => sum + result.generatorCpuMicros, 0),
    generatorLoopDelayP99Micros: Math.max(...results.map((result) => result.loopDelayP99Micros)),
    machineBusyMicros,
  };
}

/** DBSIZE of the redis-server on `port`, through Debian's redis-cli. */
function redisKeyCount(port: number): number {
  return Number(execFileSync('redis-cli', ['-p', String(port), 'dbsize'], { encoding: 'utf8', timeout: 5000 }).trim());
}

async function closeGenerators(generators: readonly ReportingChild<HoldReport>[]): Promise<void> {
  for (const generator of generators) generator.child.send({ kind: 'close' } satisfies HoldCommand);
  await Promise.all(generators.map((generator) => expectHold(generator, 'closed').catch(() => undefined)));
  await Promise.all(generators.map((generator) => waitForExit(generator.child)));
}

function holdWorkload(
  port: number,
  partnerPort: number,
  localAddresses: readonly string[],
  roomPrefix: string,
): HoldWorkload {
  return {
    mode: 'hold',
    port,
    partnerPort,
    localAddresses,
    peersPerAddress: PEERS_PER_ADDRESS,
    handshakeRate: HANDSHAKE_RATE,
    handshakeBurst: HANDSHAKE_BURST,
    connectConcurrency: CONNECT_CONCURRENCY,
    roomPrefix,
    deadlineMillis: GENERATOR_DEADLINE_MILLIS,
  };
}

/** One layout of the rate check. */
export interface RateCheckRun {
  readonly layout: 'both peers on node A' | 'partners on node B';
  readonly window: RelayWindow;
  /** A's CPU µs per second with the same peers joined and silent (heartbeats, timers, Redis upkeep). */
  readonly nodeAIdleMicrosPerSecond: number;
  /** A's CPU µs per relayed message (every relay passes through A), all of A's CPU in the window. */
  readonly nodeAMicrosPerRelay: number;
  /** The same less A's idle CPU: what relaying itself costs A. */
  readonly nodeAMarginalMicrosPerRelay: number;
  readonly nodeBMicrosPerRelay: number;
  readonly redisMicrosPerRelay: number;
}

/** What the hold reached. */
export interface HoldOutcome {
  readonly attempted: number;
  readonly joined: number;
  readonly joinMillis: number;
  /** Why not all joined, when they did not. */
  readonly failure?: string;
  readonly sessionsPerNode: readonly number[];
  readonly openFilesPerNode: readonly number[];
  readonly rssPerNodeBytes: readonly number[];
  readonly redisRssBytes: number;
  /** CPU µs per second of each node, then redis-server, with every connection held and silent. */
  readonly idleMicrosPerSecond?: readonly number[];
  readonly window?: RelayWindow;
  /** Keys in Redis before the clients joined, and once they had all left (and the nodes said so, or a timeout). */
  readonly redisKeysBefore?: number;
  readonly redisKeysAfter?: number;
  /** Time from the clients' close until every node reported 0 sessions. */
  readonly drainMillis?: number;
}

/** Everything the bench measured. */
export interface ClusterHoldMeasurement {
  readonly date: string;
  readonly config: ClusterHoldConfig;
  readonly nodeCommand: string;
  readonly fileLimit: number;
  readonly cpuCount: number;
  readonly loadAtStart: number;
  readonly rateCheck: readonly RateCheckRun[];
  readonly hold: HoldOutcome;
  /** Each node's warnings and errors, counted by message. */
  readonly nodeWarnings: readonly ReadonlyMap<string, number>[];
}

async function rateCheck(
  children: ChildSet,
  config: ClusterHoldConfig,
  a: ClusterNode,
  b: ClusterNode,
  redisPid: number,
): Promise<RateCheckRun[]> {
  const addresses = Array.from({ length: Math.max(1, Math.ceil(config.checkPeers / PEERS_PER_ADDRESS)) }, (_, index) =>
    loopbackAddress(1000 + index),
  );
  const runs: RateCheckRun[] = [];
  const layouts = [
    { layout: 'both peers on node A', partner: a },
    { layout: 'partners on node B', partner: b },
  ] as const;
  for (const [index, { layout, partner }] of layouts.entries()) {
    const generator = forkReporting<HoldReport>(
      children,
      holdGeneratorEntry,
      holdWorkload(a.port, partner.port, addresses, `check${index}-`),
      repoRoot,
    );
    try {
      await expectHold(generator, 'held');
      await sleep(1000);
      const idleStart = cpuMicros(readProcessCpu(a.pid));
      const idleStarted = performance.now();
      await sleep(CHECK_IDLE_MILLIS);
      const nodeAIdleMicrosPerSecond =
        ((cpuMicros(readProcessCpu(a.pid)) - idleStart) * 1000) / (performance.now() - idleStarted);
      const window = await relayWindow([generator], config.checkRelaysPerSecond, CHECK_SECONDS * 1000, [
        a.pid,
        b.pid,
        redisPid,
      ]);
      const [aMicros, bMicros, redisMicros] = window.cpuMicros;
      runs.push({
        layout,
        window,
        nodeAIdleMicrosPerSecond,
        nodeAMicrosPerRelay: aMicros / window.relayed,
        nodeAMarginalMicrosPerRelay:
          (aMicros - (nodeAIdleMicrosPerSecond * window.windowMillis) / 1000) / window.relayed,
        nodeBMicrosPerRelay: bMicros / window.relayed,
        redisMicrosPerRelay: redisMicros / window.relayed,
      });
      await closeGenerators([generator]);
    } finally {
      generator.child.kill('SIGKILL');
    }
    await sleep(1000);
  }
  return runs;
}

async function hold(
  children: ChildSet,
  config: ClusterHoldConfig,
  nodes: readonly ClusterNode[],
  redis: RedisServer,
): Promise<HoldOutcome> {
  const redisKeysBefore = redisKeyCount(redis.port);
  const addressCount = Math.ceil(config.connections / PEERS_PER_ADDRESS);
  const addresses = Array.from({ length: addressCount }, (_, index) => loopbackAddress(index));
  const generators = Array.from({ length: GENERATORS }, (_, g) =>
    forkReporting<HoldReport>(
      children,
      holdGeneratorEntry,
      holdWorkload(
        nodes[g % nodes.length].port,
        nodes[(g + 1) % nodes.length].port,
        addresses.filter((_, index) => index % GENERATORS === g),
        `hold${g}-`,
      ),
      repoRoot,
    ),
  );
  const attempted = addressCount * PEERS_PER_ADDRESS;
  const state = async () => ({
    sessionsPerNode: await Promise.all(nodes.map((node) => readSessions(node.port))),
    openFilesPerNode: nodes.map((node) => readOpenFileCount(node.pid)),
    rssPerNodeBytes: nodes.map((node) => readProcessRssBytes(node.pid)),
    redisRssBytes: redis.pid === undefined ? NaN : readProcessRssBytes(redis.pid),
  });
  try {
    const started = performance.now();
    const held = await Promise.allSettled(generators.map((generator) => expectHold(generator, 'held')));
    const joinMillis = performance.now() - started;
    const failures = held.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    if (failures.length > 0) {
      // Report what was reached: the nodes' own session counts, at the moment of the failure.
      const reached = await state();
      return {
        attempted,
        joined: reached.sessionsPerNode.reduce((sum, count) => sum + count, 0),
        joinMillis,
        failure: failures.join('; ').slice(0, 600),
        ...reached,
      };
    }
    const joined = held.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value.peers : 0), 0);
    await sleep(SETTLE_MILLIS);
    const full = await state();
    const redisPid = redis.pid;
    if (redisPid === undefined) throw new Error('redis-server is not running');
    const watched = [...nodes.map((node) => node.pid), redisPid];
    const idleBefore = watched.map((pid) => cpuMicros(readProcessCpu(pid)));
    const idleStarted = performance.now();
    await sleep(HOLD_IDLE_MILLIS);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idleMicrosPerSecond = watched.map(
      (pid, index) => (cpuMicros(readProcessCpu(pid)) - idleBefore[index]) / idleSeconds,
    );
    const window = await relayWindow(generators, config.relaysPerSecond, config.measureSeconds * 1000, watched);
    await closeGenerators(generators);
    const closedAt = performance.now();
    let drainMillis = NaN;
    while (performance.now() - closedAt < RELEASE_TIMEOUT_MILLIS) {
      const sessions = await Promise.all(nodes.map((node) => readSessions(node.port)));
      if (sessions.every((count) => count === 0)) {
        drainMillis = performance.now() - closedAt;
        break;
      }
      await sleep(250);
    }
    // The releases that follow a session's end run in Redis after it: give them a moment.
    await sleep(SETTLE_MILLIS);
    const redisKeysAfter = redisKeyCount(redis.port);
    return {
      attempted,
      joined,
      joinMillis,
      ...full,
      idleMicrosPerSecond,
      window,
      redisKeysBefore,
      redisKeysAfter,
      drainMillis,
    };
  } finally {
    for (const generator of generators) generator.child.kill('SIGKILL');
  }
}

/** Runs both parts once; every child it starts is tracked in `children`, redis-server stopped. */
export async function measureClusterHold(
  config: ClusterHoldConfig,
  children: ChildSet,
): Promise<ClusterHoldMeasurement> {
  const loadAtStart = loadavg()[0];
  const redis = await startRedisServer();
  const nodes: ClusterNode[] = [];
  try {
    for (let index = 0; index < NODES; index++) nodes.push(await startNode(children, redis.url));
    await sleep(1000);
    const redisPid = redis.pid;
    if (redisPid === undefined) throw new Error('redis-server is not running');
    const checked = await rateCheck(children, config, nodes[0], nodes[1], redisPid);
    const held = await hold(children, config, nodes, redis);
    for (const node of nodes) {
      if (node.child.exitCode !== null)
        throw new Error(`a Parley node exited with ${node.child.exitCode}:\n${node.output()}`);
    }
    return {
      date: new Date().toISOString(),
      config,
      nodeCommand: nodes[0].command,
      fileLimit: readOpenFileLimit(),
      cpuCount: cpus().length,
      loadAtStart,
      rateCheck: checked,
      hold: held,
      // Before the nodes stop: what they log while shutting down is not the load's doing.
      nodeWarnings: nodes.map((node) => new Map(node.warnings)),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const tails = nodes.map((node, index) => `--- node ${index} output (tail) ---\n${node.output().slice(-1500)}`);
    throw new Error(`cluster-hold bench: ${message}\n${tails.join('\n')}`, { cause: error });
  } finally {
    await Promise.all(nodes.map(stopNode));
    await redis.stop();
  }
}

const ms = (micros: number) => (micros / 1000).toFixed(2);
const µs = (micros: number) => micros.toFixed(2);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/** The section for docs/scaling.md, between its markers. */
export function renderClusterHoldSection(m: ClusterHoldMeasurement): string {
  const lines = [
    CLUSTER_HOLD_BEGIN,
    '',
    '`bench/cluster-hold.ts` (run by `npm run bench` with `BENCH_CLUSTER_HOLD=1`) measures whole nodes: ' +
      '`parley serve --redis` processes on one redis-server, loaded by WebSocket clients.',
    '',
    `Measured ${m.date.slice(0, 10)} with \`bench/cluster-hold.ts\` ` +
      `(${m.cpuCount} cores shared by every node, redis-server and the generators; load average ${m.loadAtStart.toFixed(1)} at the start; ` +
      `open-file limit ${m.fileLimit} for every process). Each node: \`${m.nodeCommand}\`.`,
    '',
    '**Rate check** (two nodes A and B; ' +
      `${m.config.checkPeers} peers, all connected to A, their partners on A or on B; ${m.config.checkRelaysPerSecond} relays/s offered for ${CHECK_SECONDS} s). ` +
      "Every relay passes through A in both layouts, so A's CPU per relayed message sets the rate A can relay at with one core.",
    '',
    "| Layout | Relays/s | RTT p50 ms | RTT p99 ms | A µs / relay | A µs / relay less idle | B µs / relay | Redis µs / relay | A's rate on one core |",
    '| ------ | -------- | ---------- | ---------- | ------------ | ---------------------- | ------------ | ---------------- | --------------------- |',
    ...m.rateCheck.map(
      (run) =>
        `| ${run.layout} | ${((run.window.relayed * 1000) / run.window.windowMillis).toFixed(0)} | ${ms(run.window.roundTripP50Micros)} | ` +
        `${ms(run.window.roundTripP99Micros)} | ${µs(run.nodeAMicrosPerRelay)} | ${µs(run.nodeAMarginalMicrosPerRelay)} | ${µs(run.nodeBMicrosPerRelay)} | ${µs(run.redisMicrosPerRelay)} | ` +
        `${(1e6 / run.nodeAMicrosPerRelay).toFixed(0)}/s |`,
    ),
    '',
  ];
  const [single, cross] = m.rateCheck;
  if (single !== undefined && cross !== undefined) {
    const ratio = single.nodeAMicrosPerRelay / cross.nodeAMicrosPerRelay;
    const marginal = single.nodeAMarginalMicrosPerRelay / cross.nodeAMarginalMicrosPerRelay;
    lines.push(
      `- Node A's relay rate with every partner on B is **${ratio.toFixed(2)}×** its rate with both peers on A ` +
        `(target ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'not met'}); counting only what relaying adds to A's idle CPU ` +
        `(${µs(single.nodeAIdleMicrosPerSecond / 1000)} / ${µs(cross.nodeAIdleMicrosPerSecond / 1000)} ms per s), ${marginal.toFixed(2)}×.`,
      '',
    );
  }
  const h = m.hold;
  lines.push(
    `**Hold** (three nodes, two peers per room on two different nodes, ${PEERS_PER_ADDRESS} peers per loopback source address, ` +
      `${GENERATORS} generator processes).`,
    '',
    `- Joined: **${h.joined}** of ${h.attempted} connections in ${(h.joinMillis / 1000).toFixed(1)} s` +
      (h.failure === undefined ? '.' : ` (not all: ${h.failure.replace(/\n/g, ' ')}).`),
    `- Per node: sessions ${h.sessionsPerNode.join(' / ')}, open files ${h.openFilesPerNode.join(' / ')}, ` +
      `RSS ${h.rssPerNodeBytes.map(mb).join(' / ')} MB; redis-server RSS ${mb(h.redisRssBytes)} MB.`,
  );
  const share = (micros: number, millis: number) => `${((micros / (millis * 1000)) * 100).toFixed(0)}%`;
  if (h.idleMicrosPerSecond !== undefined) {
    lines.push(
      `- Held and silent (heartbeats, the cluster's upkeep): CPU share nodes ` +
        `${h.idleMicrosPerSecond
          .slice(0, -1)
          .map((micros) => share(micros, 1000))
          .join(' / ')}, redis-server ${share(h.idleMicrosPerSecond.at(-1) ?? NaN, 1000)} (of one core).`,
    );
  }
  if (h.redisKeysAfter !== undefined) {
    lines.push(
      `- Every client closed: the nodes reported 0 sessions after ${Number.isNaN(h.drainMillis ?? NaN) ? `more than ${RELEASE_TIMEOUT_MILLIS / 1000} s (not all)` : `${((h.drainMillis ?? 0) / 1000).toFixed(1)} s`}; ` +
        `keys in Redis ${SETTLE_MILLIS / 1000} s later: ${h.redisKeysAfter} (${h.redisKeysBefore} before the clients joined; ` +
        'a session that ends keeps its seat for the recovery window, 2 minutes by default).',
    );
  }
  const w = h.window;
  if (w !== undefined) {
    const nodeMicros = w.cpuMicros.slice(0, -1);
    const redisMicros = w.cpuMicros.at(-1) ?? NaN;
    const nodesTotal = nodeMicros.reduce((sum, value) => sum + value, 0);
    lines.push(
      `- Held, at ${m.config.relaysPerSecond} relays/s offered for ${m.config.measureSeconds} s: ` +
        `${((w.relayed * 1000) / w.windowMillis).toFixed(0)} relays/s delivered, round trip (two relays, each across nodes) ` +
        `**p50 ${ms(w.roundTripP50Micros)} ms, p99 ${ms(w.roundTripP99Micros)} ms** (max ${ms(w.roundTripMaxMicros)} ms); ` +
        `peers failed: ${w.failedPeers}.`,
      `- CPU per relayed message: nodes ${µs(nodesTotal / w.relayed)} µs together ` +
        `(${nodeMicros.map((micros) => µs(micros / w.relayed)).join(' / ')}), redis-server ${µs(redisMicros / w.relayed)} µs; ` +
        `CPU share in the window: nodes ${nodeMicros.map((micros) => `${((micros / (w.windowMillis * 1000)) * 100).toFixed(0)}%`).join(' / ')}, ` +
        `redis-server ${((redisMicros / (w.windowMillis * 1000)) * 100).toFixed(0)}% (of one core).`,
      `- The generators meanwhile: CPU ${share(w.generatorCpuMicros, w.windowMillis)} of one core together, ` +
        `event-loop delay p99 up to ${ms(w.generatorLoopDelayP99Micros)} ms; the whole machine was busy ` +
        `${share(w.machineBusyMicros, w.windowMillis * m.cpuCount)} of its ${m.cpuCount} cores.`,
    );
  }
  for (const [index, warnings] of m.nodeWarnings.entries()) {
    for (const [warning, count] of warnings) {
      lines.push(`- Node ${index} warned ${count}× before it was stopped: “${warning}”`);
    }
  }
  lines.push('', CLUSTER_HOLD_END);
  return lines.join('\n');
}

/** `document` with its cluster-hold section replaced, or added at the end. */
export function withClusterHoldSection(document: string, section: string): string {
  return withSection(document, section, { begin: CLUSTER_HOLD_BEGIN, end: CLUSTER_HOLD_END });
}

/** Measures, prints the section and writes it into `outputPath` when given. */
export async function runClusterHoldBench(children: ChildSet, outputPath: string | undefined): Promise<void> {
  const section = renderClusterHoldSection(await measureClusterHold(clusterHoldConfigFromEnv(), children));
  console.log(`\n${section}\n`);
  if (outputPath !== undefined) {
    writeFileSync(outputPath, withClusterHoldSection(readFileSync(outputPath, 'utf8'), section));
    console.log(`wrote ${outputPath}`);
  }
}

// Run alone: `node --import tsx bench/cluster-hold.ts`.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error(`cluster-hold bench: gave up after ${BENCH_DEADLINE_MILLIS / 60_000} minutes`);
    children.killAll();
    process.exit(2);
  }, BENCH_DEADLINE_MILLIS);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      children.killAll();
      process.exit(130);
    });
  }
  try {
    await runClusterHoldBench(children, process.env['BENCH_OUTPUT']);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
