/**
 * `npm run bench`: benchmarks Parley against stock socket.io on uWebSockets.js and on Node's
 * http + ws, interleaved over rounds, and writes docs/performance.md. Every server and the load
 * generator run in their own processes on 127.0.0.1; everything is bounded and stops itself.
 *
 * Environment overrides (defaults in brackets): BENCH_ROUNDS [3], BENCH_ROOMS [64],
 * BENCH_IN_FLIGHT [4], BENCH_WARMUP_SECONDS [2], BENCH_SECONDS [6], BENCH_IDLE_CLIENTS [4000],
 * BENCH_IDLE_SECONDS [2], BENCH_SERVERS [parley,socketio-uws,socketio-node], BENCH_FORCED_GC [1],
 * BENCH_OUTPUT [docs/performance.md]. BENCH_QUICK=1 is a short development run that prints the
 * table and writes no file unless BENCH_OUTPUT is set.
 *
 * Then bench/fd-limit.ts fills one Parley process to its open-file limit (BENCH_FD_* variables
 * there); BENCH_FD_LIMIT=0 skips it, BENCH_FD_LIMIT=1 runs it in quick mode too. Last,
 * bench/inspector-cost.ts measures what `--inspect` costs a relaying server (BENCH_INSPECTOR_*
 * variables there); BENCH_INSPECTOR=0 skips it and keeps the section the file had,
 * BENCH_INSPECTOR=1 runs it in quick mode too. Then bench/time-to-media.ts times a call in Chromium,
 * Parley's app against the original example on its Python server (BENCH_TTM_RUNS there;
 * BENCH_TTM=0 skips it and keeps the section the file had, BENCH_TTM=1 runs it in quick mode too).
 * Then bench/recovery-churn.ts measures delivery under churn with connection state recovery on
 * and off (BENCH_CHURN_* variables there; BENCH_CHURN=0 skips it and keeps the section the file
 * had, BENCH_CHURN=1 runs it in quick mode too, with fewer clients for less time).
 * BENCH_CROSS_NODE=1 also measures relay across two nodes through Redis (bench/cross-node-relay.ts,
 * BENCH_XNODE_* variables there) and writes its section into docs/scaling.md (quick mode: prints it).
 * BENCH_CLUSTER_HOLD=1 also runs three `parley serve --redis` nodes holding 50,000 connections and
 * checks a node's cross-node relay rate (bench/cluster-hold.ts, BENCH_CLUSTER_* variables there),
 * into docs/scaling.md too (quick mode: prints it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import type {
  GeneratorCommand,
  GeneratorReport,
  IdleWorkload,
  RelayResult,
  RelayWorkload,
} from './generator-protocol.js';
import { ChildSet, forkReporting, freePort, envNumber, sleep, waitForExit } from './child-processes.js';
import { fdLimitConfigFromEnv, measureFullProcess } from './fd-limit.js';
import {
  inspectorCostConfigFromEnv,
  inspectorSectionOf,
  measureInspectorCost,
  renderInspectorSection,
  withInspectorSection,
} from './inspector-cost.js';
import { renderFdLimitSection } from './fd-limit-report.js';
import {
  measureTimeToMedia,
  renderTimeToMediaSection,
  timeToMediaPathFromEnv,
  timeToMediaRunsFromEnv,
  timeToMediaSectionOf,
  withTimeToMediaSection,
} from './time-to-media.js';
import { readOpenFileLimit, readProcessRssBytes } from './proc-stats.js';
import { runCrossNodeBench } from './cross-node-relay.js';
import { runClusterHoldBench } from './cluster-hold.js';
import {
  churnConfigFromEnv,
  churnSectionOf,
  measureRecoveryChurn,
  renderChurnSection,
  withChurnSection,
} from './recovery-churn.js';
import {
  NOTES_MARKER,
  renderReport,
  renderRatioTable,
  renderSummaryTable,
  renderTargetTable,
  summarize,
  type FdLimitOutcome,
  type RoundMeasurement,
  type ServerId,
} from './report.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const generatorEntry = fileURLToPath(new URL('load-generator.ts', import.meta.url));
const ALL_SERVERS: readonly ServerId[] = ['parley', 'socketio-uws', 'socketio-node'];

const quick = process.env['BENCH_QUICK'] === '1';
const config = {
  rounds: envNumber('BENCH_ROUNDS', quick ? 1 : 3),
  rooms: envNumber('BENCH_ROOMS', quick ? 16 : 64),
  inFlight: envNumber('BENCH_IN_FLIGHT', 4),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', quick ? 1 : 2),
  seconds: envNumber('BENCH_SECONDS', quick ? 2 : 6),
  idleClients: envNumber('BENCH_IDLE_CLIENTS', quick ? 400 : 4000),
  idleSeconds: envNumber('BENCH_IDLE_SECONDS', quick ? 1 : 2),
  forcedGc: process.env['BENCH_FORCED_GC'] !== '0',
  connectConcurrency: 100,
  servers: (process.env['BENCH_SERVERS']?.split(',').map((s) => s.trim()) ?? ALL_SERVERS).filter((s): s is ServerId =>
    (ALL_SERVERS as readonly string[]).includes(s),
  ),
};
const outputPath = process.env['BENCH_OUTPUT'] ?? (quick ? undefined : `${repoRoot}docs/performance.md`);
const runFdLimit = process.env['BENCH_FD_LIMIT'] === undefined ? !quick : process.env['BENCH_FD_LIMIT'] === '1';
const runInspectorCost = process.env['BENCH_INSPECTOR'] === undefined ? !quick : process.env['BENCH_INSPECTOR'] === '1';
const runTimeToMedia = process.env['BENCH_TTM'] === undefined ? !quick : process.env['BENCH_TTM'] === '1';
const runCrossNode = process.env['BENCH_CROSS_NODE'] === '1';
const runClusterHold = process.env['BENCH_CLUSTER_HOLD'] === '1';
const runChurn = process.env['BENCH_CHURN'] === undefined ? !quick : process.env['BENCH_CHURN'] === '1';
/**
 * Everything stops by this time, whatever hangs (the churn section takes about 2 minutes of it,
 * time to media about 6: on loopback and over a distance).
 */
const BENCH_DEADLINE_MILLIS = 30 * 60_000;
const SERVER_START_TIMEOUT_MILLIS = 15_000;
const SETTLE_MILLIS = 1000;
const HEAP_READING_TIMEOUT_MILLIS = 5000;

// Preloaded the same way into every server: on SIGUSR2, a full GC, then the live JS heap on stderr.
const HEAP_ON_SIGNAL = `data:text/javascript,${encodeURIComponent(
  'process.on("SIGUSR2", () => { globalThis.gc?.(); ' +
    'process.stderr.write("bench-heap-used " + process.memoryUsage().heapUsed + "\\n"); });',
)}`;
const HEAP_LINE = /bench-heap-used (\d+)/g;

/**
 * Parley's per-client limits, lifted for the comparison: its load comes from one address
 * (127.0.0.1), thousands of clients at once, and ~1000 messages a second per client, which its
 * defaults (100 connections and 20 handshakes a second per address, 50 messages a second per
 * client) refuse and drop, and the baselines have no such limits. The checks still run on every
 * message. bench/fd-limit.ts measures Parley with its defaults.
 */
const PARLEY_COMPARISON_LIMITS = [
  '--max-connections-per-address',
  '1000000',
  '--max-sessions-per-address',
  '1000000',
  '--handshake-rate',
  '1000000',
  '--message-rate',
  '1000000',
];

/** How to start one server on a port, or why it cannot be started. */
function serverCommand(server: ServerId, port: number): { args: string[]; unavailable?: string } {
  const gcFlags = config.forcedGc ? ['--expose-gc', `--import=${HEAP_ON_SIGNAL}`] : [];
  switch (server) {
    case 'parley': {
      const missing = ['bin/parley.js', 'dist/signaling/cli.js'].find((path) => !existsSync(`${repoRoot}${path}`));
      return {
        args: [
          ...gcFlags,
          ...parleyNodeFlags(),
          'bin/parley.js',
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          ...PARLEY_COMPARISON_LIMITS,
        ],
        ...(missing === undefined ? {} : { unavailable: `Parley: ${missing} does not exist (npm run build?)` }),
      };
    }
    case 'socketio-uws':
    case 'socketio-node':
      return { args: [...gcFlags, '--import', 'tsx', `bench/servers/${server}.ts`, '--port', String(port)] };
  }
}

/** The Node flags Parley's binary declares on its shebang line: Parley is measured as it ships. */
function parleyNodeFlags(): string[] {
  const shebang = readFileSync(`${repoRoot}bin/parley.js`, 'utf8').split('\n', 1)[0];
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

const children = new ChildSet();

/** A started server process with the tail of its output for error messages. */
interface RunningServer {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Live JS heap bytes the server reported after each forced GC, oldest first. */
  readonly heapReadings: number[];
  output(): string;
}

async function startServer(server: ServerId): Promise<RunningServer> {
  const port = await freePort();
  const { args } = serverCommand(server, port);
  // Parley reads PARLEY_* variables; the bench runs it with its defaults only.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  const child = children.track(
    spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let tail = '';
  const heapReadings: number[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    for (const match of text.matchAll(HEAP_LINE)) heapReadings.push(Number(match[1]));
    tail = (tail + text).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`${server} did not start`);
  const running: RunningServer = { process: child, pid: child.pid, port, heapReadings, output: () => tail };
  const deadline = Date.now() + SERVER_START_TIMEOUT_MILLIS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${server} exited with ${child.exitCode}:\n${tail}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      await response.arrayBuffer();
      if (response.status === 200) return running;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${server} did not answer /healthz within ${SERVER_START_TIMEOUT_MILLIS} ms:\n${tail}`);
}

async function stopServer(server: RunningServer): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
  server.process.kill('SIGTERM');
  const timer = setTimeout(() => server.process.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Forks the load generator with a workload. */
function startGenerator(workload: IdleWorkload | RelayWorkload) {
  return forkReporting<GeneratorReport>(children, generatorEntry, workload, repoRoot);
}

async function expectReport<K extends GeneratorReport['kind']>(
  next: () => Promise<GeneratorReport>,
  kind: K,
): Promise<Extract<GeneratorReport, { kind: K }>> {
  const report = await next();
  if (report.kind === 'failed') throw new Error(`load generator failed: ${report.reason}`);
  if (report.kind !== kind) throw new Error(`expected ${kind} from the load generator, got ${report.kind}`);
  return report as Extract<GeneratorReport, { kind: K }>;
}

/** Forces a full GC in the server and returns the live JS heap it reports, NaN if disabled. */
async function forceGcAndReadHeap(server: RunningServer): Promise<number> {
  if (!config.forcedGc) return NaN;
  const seen = server.heapReadings.length;
  server.process.kill('SIGUSR2');
  const deadline = Date.now() + HEAP_READING_TIMEOUT_MILLIS;
  while (server.heapReadings.length === seen) {
    if (Date.now() > deadline) throw new Error('the server did not report its heap after SIGUSR2');
    await sleep(20);
  }
  return server.heapReadings[seen];
}

async function measureRound(server: ServerId, round: number): Promise<RoundMeasurement> {
  const running = await startServer(server);
  try {
    await sleep(SETTLE_MILLIS);
    const rssBeforeBytes = readProcessRssBytes(running.pid);
    const heapBeforeBytes = await forceGcAndReadHeap(running);

    const idle = startGenerator({
      mode: 'idle',
      port: running.port,
      clients: config.idleClients,
      roomPrefix: `idle${round}-`,
      connectConcurrency: config.connectConcurrency,
      deadlineMillis: 120_000,
    });
    const joined = await expectReport(idle.next, 'joined');
    await sleep(config.idleSeconds * 1000);
    const rssIdleBytes = readProcessRssBytes(running.pid);
    const heapIdleBytes = await forceGcAndReadHeap(running);
    idle.child.send({ kind: 'close' } satisfies GeneratorCommand);
    await expectReport(idle.next, 'closed');
    await waitForExit(idle.child);

    const relay = startGenerator({
      mode: 'relay',
      port: running.port,
      rooms: config.rooms,
      inFlight: config.inFlight,
      warmupMillis: config.warmupSeconds * 1000,
      measureMillis: config.seconds * 1000,
      serverPid: running.pid,
      roomPrefix: `relay${round}-`,
      connectConcurrency: config.connectConcurrency,
      deadlineMillis: 60_000 + (config.warmupSeconds + config.seconds) * 1000,
    });
    const result: RelayResult = await expectReport(relay.next, 'relay-result');
    await waitForExit(relay.child);
    if (running.process.exitCode !== null) throw new Error(`${server} died during the round:\n${running.output()}`);

    return {
      round,
      server,
      relayed: result.relayed,
      windowMillis: result.windowMillis,
      serverCpuMicros: result.serverCpuMicros,
      serverSystemMicros: result.serverSystemMicros,
      generatorCpuMicros: result.generatorCpuMicros,
      roundTripP50Micros: result.roundTripP50Micros,
      roundTripP99Micros: result.roundTripP99Micros,
      idleClients: joined.clients,
      idleJoinMillis: joined.joinMillis,
      rssBeforeBytes,
      rssIdleBytes,
      heapBeforeBytes,
      heapIdleBytes,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${server}, round ${round}: ${message}\n--- server output (tail) ---\n${running.output()}`, {
      cause: error,
    });
  } finally {
    await stopServer(running);
  }
}

function cpuModel(): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'))?.[1];
  return model ?? cpus()[0]?.model ?? 'unknown';
}

/** bench/fd-limit.ts; a failure there is reported in its section and does not lose the comparison. */
async function measureFdLimit(): Promise<FdLimitOutcome> {
  const started = Date.now();
  try {
    const measurement = await measureFullProcess(fdLimitConfigFromEnv(), children);
    console.log(`\n${renderFdLimitSection(measurement)}\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return measurement;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(message);
    process.exitCode = 1;
    return { error: message };
  }
}

/** bench/inspector-cost.ts; a failure there is reported in its section's place and loses nothing else. */
async function measureInspectorSection(): Promise<string | undefined> {
  try {
    const section = renderInspectorSection(await measureInspectorCost(children, inspectorCostConfigFromEnv()));
    console.log(`\n${section}\n`);
    return section;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
    return undefined;
  }
}

/** bench/time-to-media.ts; a failure there is reported in its section's place and loses nothing else. */
async function measureTimeToMediaSection(): Promise<string | undefined> {
  try {
    const children = new ChildSet();
    const result = await measureTimeToMedia(children, timeToMediaRunsFromEnv());
    const path = timeToMediaPathFromEnv();
    const distant =
      path === undefined ? undefined : await measureTimeToMedia(children, timeToMediaRunsFromEnv(), false, path);
    const section = renderTimeToMediaSection(result, distant);
    console.log(`\n${section}\n`);
    return section;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
    return undefined;
  }
}

/** bench/recovery-churn.ts; a failure there is reported in its section's place and loses nothing else. */
async function measureChurnSection(): Promise<string | undefined> {
  try {
    const section = renderChurnSection(await measureRecoveryChurn(children, churnConfigFromEnv(quick)));
    console.log(`\n${section}\n`);
    return section;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
    return undefined;
  }
}

/**
 * Writes the generated part, then the inspector, time-to-media and churn sections (this run's,
 * else the ones the file had), then the hand-written notes the file had.
 */
function writeReport(
  path: string,
  generated: string,
  inspectorSection: string | undefined,
  timeToMediaSection: string | undefined,
  churnSection: string | undefined,
): void {
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const markerAt = previous.indexOf(NOTES_MARKER);
  const notes = markerAt >= 0 ? previous.slice(markerAt) : `${NOTES_MARKER}\n`;
  const section = inspectorSection ?? inspectorSectionOf(previous);
  let document = `${generated}\n${notes}`;
  if (section !== undefined) document = withInspectorSection(document, section, NOTES_MARKER);
  const timeToMedia = timeToMediaSection ?? timeToMediaSectionOf(previous);
  if (timeToMedia !== undefined) document = withTimeToMediaSection(document, timeToMedia, NOTES_MARKER);
  const churn = churnSection ?? churnSectionOf(previous);
  if (churn !== undefined) document = withChurnSection(document, churn, NOTES_MARKER);
  writeFileSync(path, document);
}

async function main(): Promise<void> {
  const needFiles = config.idleClients + 200;
  const openFileLimit = readOpenFileLimit();
  if (openFileLimit < needFiles) {
    throw new Error(
      `open-file limit ${openFileLimit} is below the ${needFiles} the idle phase needs; raise it (ulimit -n) or lower BENCH_IDLE_CLIENTS`,
    );
  }
  const skipped: string[] = [];
  const servers = config.servers.filter((server) => {
    const reason = serverCommand(server, 0).unavailable;
    if (reason !== undefined) skipped.push(reason);
    return reason === undefined;
  });
  for (const reason of skipped) console.warn(`bench: skipping ${reason}`);
  if (servers.length === 0) throw new Error('no server to benchmark');

  const rounds: RoundMeasurement[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    // Rotate the order each round so no server always runs first or last.
    const order = servers.map((_, index) => servers[(index + round - 1) % servers.length]);
    for (const server of order) {
      const started = Date.now();
      const measurement = await measureRound(server, round);
      rounds.push(measurement);
      console.log(
        `round ${round} ${server}: ${(measurement.serverCpuMicros / measurement.relayed).toFixed(2)} µs/msg, ` +
          `${measurement.relayed} msgs, RTT p50 ${(measurement.roundTripP50Micros / 1000).toFixed(2)} ms, ` +
          `${((measurement.rssIdleBytes - measurement.rssBeforeBytes) / measurement.idleClients / 1024).toFixed(1)} KB/client ` +
          `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  }

  const summaries = servers.map((server) => summarize(server, rounds));
  const fdLimit = runFdLimit ? await measureFdLimit() : undefined;
  const inspectorSection = runInspectorCost ? await measureInspectorSection() : undefined;
  const timeToMediaSection = runTimeToMedia ? await measureTimeToMediaSection() : undefined;
  if (runCrossNode) {
    // bench/cross-node-relay.ts; its section lives in docs/scaling.md. A failure loses nothing else.
    await runCrossNodeBench(children, quick ? undefined : `${repoRoot}docs/scaling.md`).catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    });
  }
  if (runClusterHold) {
    // bench/cluster-hold.ts; its section lives in docs/scaling.md. A failure loses nothing else.
    await runClusterHoldBench(children, quick ? undefined : `${repoRoot}docs/scaling.md`).catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    });
  }
  const churnSection = runChurn ? await measureChurnSection() : undefined;
  const context = {
    date: new Date().toISOString(),
    command: 'npm run bench',
    cpuCount: cpus().length,
    cpuModel: cpuModel(),
    nodeVersion: process.version,
    kernel: release(),
    parameters: {
      rounds: config.rounds,
      'relay rooms (pairs)': config.rooms,
      'messages in flight per pair': config.inFlight,
      'warm-up s': config.warmupSeconds,
      'measured window s': config.seconds,
      'idle clients (two per room)': config.idleClients,
      'idle s before the RSS reading': config.idleSeconds,
      'JS heap readings (forced GC)': config.forcedGc,
      'connect concurrency': config.connectConcurrency,
      'quick mode': quick,
    },
    skipped,
  };
  const markdown = renderReport(context, rounds, summaries, fdLimit);
  console.log(`\n${renderSummaryTable(summaries)}\n`);
  const targets = renderTargetTable(summaries);
  if (targets !== undefined) console.log(`${targets}\n`);
  const ratios = renderRatioTable(summaries);
  if (ratios !== undefined) console.log(`${ratios}\n`);
  if (outputPath !== undefined) {
    writeReport(outputPath, markdown, inspectorSection, timeToMediaSection, churnSection);
    console.log(`wrote ${outputPath}`);
  }
}

const deadline = setTimeout(() => {
  console.error(`bench: gave up after ${BENCH_DEADLINE_MILLIS / 60_000} minutes`);
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
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  children.killAll();
}
