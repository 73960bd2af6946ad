/**
 * The cost of relaying across nodes through Redis (src/signaling/cluster/relay-bus.ts): packets
 * ping-pong between `pairs` socket pairs whose two ends are on two node processes, through a real
 * redis-server, against the same load handed over within one process. Reports the relay rate,
 * the round trip (p50, p99) and CPU per relayed packet of the node processes and of Redis, and
 * the ratios. Run by `npm run bench` with BENCH_CROSS_NODE=1, or alone:
 *
 *   npx tsx bench/cross-node-relay.ts                       (prints the section)
 *   BENCH_OUTPUT=docs/scaling.md npx tsx bench/cross-node-relay.ts   (also writes it there)
 *
 * Environment (defaults in brackets): BENCH_XNODE_ROUNDS [3], BENCH_XNODE_PAIRS [64],
 * BENCH_XNODE_IN_FLIGHT [4], BENCH_XNODE_RATE [10000] (relays/s of the paced runs),
 * BENCH_XNODE_WARMUP_SECONDS [1], BENCH_XNODE_SECONDS [5], BENCH_XNODE_PARLEY_MICROS [11.08]
 * (Parley's single-node server CPU per relayed message, from docs/performance.md).
 *
 * Not measured here (needs `parley serve --redis`, pending): whole Parley nodes relaying between
 * clients, and three nodes holding 50,000 joined connections.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { ChildSet, envNumber, forkReporting, waitForExit } from './child-processes.js';
import type { CrossNodeReport, CrossNodeResult, CrossNodeWorkload } from './cross-node-node.js';
import { withSection } from './doc-section.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const nodeEntry = fileURLToPath(new URL('cross-node-node.ts', import.meta.url));

export const CROSS_NODE_BEGIN = '<!-- cross-node-relay:begin -->';
export const CROSS_NODE_END = '<!-- cross-node-relay:end -->';

/** How the measurement runs. */
export interface CrossNodeConfig {
  readonly rounds: number;
  readonly pairs: number;
  readonly inFlight: number;
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly parleyMicrosPerRelay: number;
}

/** The configuration from the environment. */
export function crossNodeConfigFromEnv(): CrossNodeConfig {
  return {
    rounds: envNumber('BENCH_XNODE_ROUNDS', 3),
    pairs: envNumber('BENCH_XNODE_PAIRS', 64),
    inFlight: envNumber('BENCH_XNODE_IN_FLIGHT', 4),
    rate: envNumber('BENCH_XNODE_RATE', 10_000),
    warmupSeconds: envNumber('BENCH_XNODE_WARMUP_SECONDS', 1),
    seconds: envNumber('BENCH_XNODE_SECONDS', 5),
    parleyMicrosPerRelay: envNumber('BENCH_XNODE_PARLEY_MICROS', 11.08),
  };
}

/** The four ways the load runs. */
export type CrossNodeMode =
  'one process, saturated' | 'two nodes, saturated' | 'one process, paced' | 'two nodes, paced';
const MODES: readonly CrossNodeMode[] = [
  'one process, saturated',
  'two nodes, saturated',
  'one process, paced',
  'two nodes, paced',
];

/** One run of one mode. */
export interface CrossNodeRun {
  readonly round: number;
  readonly mode: CrossNodeMode;
  readonly result: CrossNodeResult;
}

async function next(reporting: { next: () => Promise<CrossNodeReport> }): Promise<CrossNodeReport> {
  const message = await reporting.next();
  if (message.kind === 'failed') throw new Error(`a bench node failed: ${message.reason}`);
  return message;
}

async function runMode(
  children: ChildSet,
  config: CrossNodeConfig,
  url: string,
  redisPid: number,
  mode: CrossNodeMode,
  round: number,
): Promise<CrossNodeResult> {
  const base = {
    url,
    pairs: config.pairs,
    inFlight: config.inFlight,
    rate: mode.endsWith('paced') ? config.rate : 0,
    warmupMillis: config.warmupSeconds * 1000,
    measureMillis: config.seconds * 1000,
  };
  const sender = `bench-${round}-${mode.replaceAll(/\W+/g, '-')}-a`;
  const echo = `bench-${round}-${mode.replaceAll(/\W+/g, '-')}-b`;
  if (mode.startsWith('one process')) {
    const local = forkReporting<CrossNodeReport>(
      children,
      nodeEntry,
      { ...base, role: 'local', nodeId: sender, peerNodeId: sender, pids: {} } satisfies CrossNodeWorkload,
      repoRoot,
    );
    const result = (await next(local)) as CrossNodeResult;
    await waitForExit(local.child);
    return result;
  }
  const echoNode = forkReporting<CrossNodeReport>(
    children,
    nodeEntry,
    { ...base, role: 'echo', nodeId: echo, peerNodeId: sender, pids: {} } satisfies CrossNodeWorkload,
    repoRoot,
  );
  await next(echoNode);
  const senderNode = forkReporting<CrossNodeReport>(
    children,
    nodeEntry,
    {
      ...base,
      role: 'sender',
      nodeId: sender,
      peerNodeId: echo,
      pids: { echo: echoNode.child.pid!, redis: redisPid },
    } satisfies CrossNodeWorkload,
    repoRoot,
  );
  const result = (await next(senderNode)) as CrossNodeResult;
  await waitForExit(senderNode.child);
  echoNode.child.kill('SIGTERM');
  await waitForExit(echoNode.child);
  return result;
}

/** Runs every mode `rounds` times, interleaved, against one redis-server. */
export async function measureCrossNodeRelay(children: ChildSet, config: CrossNodeConfig): Promise<CrossNodeRun[]> {
  const redis = await startRedisServer();
  loadAtStart = loadavg()[0];
  try {
    const runs: CrossNodeRun[] = [];
    for (let round = 1; round <= config.rounds; round++) {
      for (const mode of MODES) {
        const result = await runMode(children, config, redis.url, redis.pid!, mode, round);
        runs.push({ round, mode, result });
        console.log(
          `cross-node round ${round}, ${mode}: ${Math.round((result.relayed * 1000) / result.windowMillis)} relays/s, ` +
            `RTT p50 ${(result.roundTripP50Micros / 1000).toFixed(2)} ms, p99 ${(result.roundTripP99Micros / 1000).toFixed(2)} ms`,
        );
      }
    }
    return runs;
  } finally {
    await redis.stop();
  }
}

/** The machine's 1-minute load average when the measurement started: other work skews latency most. */
let loadAtStart = NaN;

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};

/** Per-mode medians over rounds. */
function summarize(runs: readonly CrossNodeRun[], mode: CrossNodeMode) {
  const mine = runs.filter((run) => run.mode === mode).map((run) => run.result);
  const nodesCpu = (r: CrossNodeResult) => (r.cpuMicros['self'] ?? 0) + (r.cpuMicros['echo'] ?? 0);
  return {
    mode,
    rate: median(mine.map((r) => (r.relayed * 1000) / r.windowMillis)),
    p50: median(mine.map((r) => r.roundTripP50Micros / 1000)),
    p99: median(mine.map((r) => r.roundTripP99Micros / 1000)),
    nodesCpuPerRelay: median(mine.map((r) => nodesCpu(r) / r.relayed)),
    redisCpuPerRelay: median(mine.map((r) => (r.cpuMicros['redis'] ?? 0) / r.relayed)),
    nodesCoreShare: median(mine.map((r) => nodesCpu(r) / (r.windowMillis * 1000))),
  };
}

/** The markdown section (between the markers) for docs/scaling.md. */
export function renderCrossNodeSection(runs: readonly CrossNodeRun[], config: CrossNodeConfig, date: string): string {
  const rows = MODES.map((mode) => summarize(runs, mode));
  const [localSat, twoSat, localPaced, twoPaced] = rows;
  const table = rows.map(
    (row) =>
      `| ${row.mode} | ${Math.round(row.rate)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ` +
      `${row.nodesCpuPerRelay.toFixed(2)} | ${row.mode.startsWith('two') ? row.redisCpuPerRelay.toFixed(2) : '–'} | ` +
      `${(row.nodesCoreShare * 100).toFixed(0)}% |`,
  );
  // What the bus adds to each relayed packet, over handing it over in-process, shared by the two nodes.
  const added = twoSat.nodesCpuPerRelay - localSat.nodesCpuPerRelay;
  const kept = config.parleyMicrosPerRelay / (config.parleyMicrosPerRelay + added);
  return [
    CROSS_NODE_BEGIN,
    `Measured ${date} with \`npx tsx bench/cross-node-relay.ts\` (median of ${config.rounds} rounds; ` +
      `${config.pairs} pairs, ${config.inFlight} packets in flight per pair when saturated, ` +
      `${config.rate} relays/s when paced; ${config.seconds} s windows after ${config.warmupSeconds} s of warm-up; ` +
      `a ~190-byte ICE candidate packet; Redis 7 on loopback; 2 cores shared by all processes, ` +
      `load average ${loadAtStart.toFixed(1)} at the start).`,
    '',
    '| Mode | Relays/s | RTT p50 ms | RTT p99 ms | Node CPU µs / relay | Redis CPU µs / relay | Node CPU (of one core) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...table,
    '',
    `- Saturated relay rate through Redis: ${(twoSat.rate / localSat.rate).toFixed(3)}× the in-process rate; ` +
      `node CPU per relay ${(twoSat.nodesCpuPerRelay / localSat.nodesCpuPerRelay).toFixed(1)}× ` +
      `(${twoSat.nodesCpuPerRelay.toFixed(2)} vs ${localSat.nodesCpuPerRelay.toFixed(2)} µs, both nodes together), ` +
      `plus ${twoSat.redisCpuPerRelay.toFixed(2)} µs in Redis.`,
    `- Paced at ${config.rate} relays/s, the round trip (two relays) is ${twoPaced.p50.toFixed(2)} ms p50 / ` +
      `${twoPaced.p99.toFixed(2)} ms p99 through Redis, against ${localPaced.p50.toFixed(2)} / ${localPaced.p99.toFixed(2)} ms in one process.`,
    `- Projection for a Parley node (not measured: needs the \`--redis\` wiring): a single-node relay costs ` +
      `${config.parleyMicrosPerRelay} µs of server CPU (docs/performance.md, saturated); saturated, the bus adds ` +
      `${added.toFixed(2)} µs per relayed packet (both nodes together), so a node whose peers' partners are all on the ` +
      `other node would keep about ${(kept * 100).toFixed(0)}% of its single-node relay rate (the target is at least ` +
      `50%). At ${config.rate} relays/s, where batches are small, the bus costs ` +
      `${(twoPaced.nodesCpuPerRelay - localPaced.nodesCpuPerRelay).toFixed(2)} µs per packet, CPU that is not the limit at that rate.`,
    CROSS_NODE_END,
  ].join('\n');
}

/** `document` with its cross-node section replaced by `section` (or appended when it has none). */
export function withCrossNodeSection(document: string, section: string): string {
  return withSection(document, section, { begin: CROSS_NODE_BEGIN, end: CROSS_NODE_END });
}

/** Measures, prints the section and writes it into `outputPath` when given. */
export async function runCrossNodeBench(children: ChildSet, outputPath: string | undefined): Promise<string> {
  const config = crossNodeConfigFromEnv();
  const runs = await measureCrossNodeRelay(children, config);
  const section = renderCrossNodeSection(runs, config, new Date().toISOString().slice(0, 10));
  console.log(`\n${section}\n`);
  if (outputPath !== undefined) {
    const previous = existsSync(outputPath) ? readFileSync(outputPath, 'utf8') : '';
    // The page is hand-written around this section and checked by prettier: keep it formatted.
    const prettier = await import('prettier');
    const options = { ...(await prettier.resolveConfig(outputPath)), filepath: outputPath };
    writeFileSync(outputPath, await prettier.format(withCrossNodeSection(previous, section), options));
    console.log(`wrote ${outputPath}`);
  }
  return section;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error('cross-node bench: gave up after 10 minutes');
    children.killAll();
    process.exit(2);
  }, 10 * 60_000);
  deadline.unref();
  try {
    await runCrossNodeBench(children, process.env['BENCH_OUTPUT']);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
