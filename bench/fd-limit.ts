/**
 * One Parley process filled to its open-file limit: ~19,200 joined connections (two per room)
 * from several generator processes and 200 loopback source addresses, held while `data` is
 * relayed at a fixed rate; then more connections than it will take, to see it refuse them
 * cleanly; then everything closes and it must accept again. Measures round trips, RSS and CPU
 * per connection and per relayed message, which bench/fd-limit-report.ts projects to 50,000 and
 * 100,000 connections.
 *
 * Parley runs as it ships (`bin/parley.js serve` with its shebang's Node flags and every default,
 * including the per-address limits of 100 connections and 20 handshakes a second): the load
 * keeps under them by spreading over source addresses (96 peers each) and pacing handshakes.
 *
 * `npm run bench` runs this after the comparison (bench/run.ts). Alone:
 * `npm run build && node --import tsx bench/fd-limit.ts` prints the section, and with
 * BENCH_OUTPUT=docs/performance.md replaces it in that file.
 *
 * Environment (defaults in brackets): BENCH_FD_CONNECTIONS [19200], BENCH_FD_GENERATORS [4],
 * BENCH_FD_RELAY_RATE [10000] relays/s, BENCH_FD_SECONDS [10], BENCH_FD_PROBE [1000].
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  ChildSet,
  forkReporting,
  freePort,
  envNumber,
  type ReportingChild,
  sleep,
  waitForExit,
} from './child-processes.js';
import {
  FD_LIMIT_BEGIN,
  FD_LIMIT_END,
  renderFdLimitSection,
  type FdCountCost,
  type FdLimitMeasurement,
  type GuardState,
} from './fd-limit-report.js';
import type { HoldCommand, HoldReport, HoldWorkload } from './generator-protocol.js';
import {
  readMachineBusyMicros,
  readOpenFileCount,
  readOpenFileLimit,
  readProcessCpu,
  readProcessRssBytes,
  readSlabBytes,
  type ProcessCpuTime,
} from './proc-stats.js';
import { percentile } from './relay-frames.js';
import { NOTES_MARKER } from './report.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const holdGeneratorEntry = fileURLToPath(new URL('hold-generator.ts', import.meta.url));

/** Peers per source address: even, and under the server's default of 100 connections per address. */
const PEERS_PER_ADDRESS = 96;
/** Handshakes per source address: under the server's default rate (20/s) and burst (40). */
const HANDSHAKE_RATE = 15;
const HANDSHAKE_BURST = 30;
const CONNECT_CONCURRENCY = 200;
const SETTLE_MILLIS = 3000;
const IDLE_WINDOW_MILLIS = 5000;
const WARMUP_MILLIS = 3000;
const PROBE_TIMEOUT_MILLIS = 8000;
const PROBE_CPU_WINDOW_MILLIS = 2000;
const REACCEPT_TIMEOUT_MILLIS = 20_000;
const SERVER_START_TIMEOUT_MILLIS = 15_000;
const GENERATOR_DEADLINE_MILLIS = 6 * 60_000;
/** Descriptors the fd-count cost is measured at. */
const FD_COST_OPEN_FILES = 19_000;

/** What the fd-limit bench is asked to do. */
export interface FdLimitConfig {
  readonly connections: number;
  readonly generators: number;
  readonly relaysPerSecond: number;
  readonly measureSeconds: number;
  readonly probeConnections: number;
}

/** The configuration from BENCH_FD_* variables. */
export function fdLimitConfigFromEnv(): FdLimitConfig {
  return {
    connections: envNumber('BENCH_FD_CONNECTIONS', 19_200),
    generators: Math.max(1, envNumber('BENCH_FD_GENERATORS', 4)),
    relaysPerSecond: envNumber('BENCH_FD_RELAY_RATE', 10_000),
    measureSeconds: envNumber('BENCH_FD_SECONDS', 10),
    probeConnections: envNumber('BENCH_FD_PROBE', 1000),
  };
}

/** 127.0.0.2, 127.0.0.3, ... 127.0.0.254, 127.0.1.1, ...: all loopback (RFC 1122 3.2.1.3). */
function loopbackAddress(index: number): string {
  const host = index + 1;
  return `127.0.${Math.floor(host / 254)}.${(host % 254) + 1}`;
}

/** Cuts `items` into `parts` contiguous chunks of near-equal length. */
function split<T>(items: readonly T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, part) =>
    items.slice(Math.floor((part * items.length) / parts), Math.floor(((part + 1) * items.length) / parts)),
  ).filter((chunk) => chunk.length > 0);
}

function medianOf(samples: number[]): number {
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

/** What counting this process's open descriptors costs at ~19,000 open, both ways the guard can. */
function measureFdCountCost(): FdCountCost {
  const opened: number[] = [];
  try {
    const limit = readOpenFileLimit();
    const target = Math.min(FD_COST_OPEN_FILES, limit - 200);
    while (readOpenFileCount(process.pid) < target) opened.push(openSync('/dev/null', 'r'));
    const time = (count: () => number, runs: number) =>
      medianOf(
        Array.from({ length: runs }, () => {
          const started = performance.now();
          count();
          return (performance.now() - started) * 1000;
        }),
      );
    return {
      openFiles: readOpenFileCount(process.pid),
      statMicros: time(() => statSync('/proc/self/fd').size, 200),
      readdirMicros: time(() => readdirSync('/proc/self/fd').length, 7),
    };
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/** Ports in /proc/sys/net/ipv4/ip_local_port_range: connections one source address can open to one port. */
function readEphemeralPortCount(): number {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/).map(Number);
  return high - low + 1;
}

/** The Node flags Parley's binary declares on its shebang line: Parley is measured as it ships. */
function parleyNodeFlags(): string[] {
  const shebang = readFileSync(`${repoRoot}bin/parley.js`, 'utf8').split('\n', 1)[0];
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}

interface Health {
  readonly ok: boolean;
  /** The error code when the request failed, e.g. ECONNREFUSED while the guard has paused. */
  readonly error?: string;
  readonly sessions?: number;
  readonly files?: GuardState;
}

async function readHealth(port: number): Promise<Health> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { sessions?: number; files?: GuardState };
    return { ok: response.status === 200, sessions: body.sessions, files: body.files };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { ok: false, error: cause?.code ?? (error instanceof Error ? error.name : String(error)) };
  }
}

interface ParleyProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly command: string;
  output(): string;
}

async function startParley(children: ChildSet, port: number): Promise<ParleyProcess> {
  const args = [...parleyNodeFlags(), 'bin/parley.js', 'serve', '--host', '127.0.0.1', '--port', String(port)];
  if (!existsSync(`${repoRoot}dist/signaling/cli.js`)) throw new Error('dist/signaling/cli.js missing: npm run build');
  // Parley reads PARLEY_* variables; the bench runs it with its defaults only.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  const child = children.track(
    spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error('Parley did not start');
  const deadline = Date.now() + SERVER_START_TIMEOUT_MILLIS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Parley exited with ${child.exitCode}:\n${tail}`);
    if ((await readHealth(port)).ok) {
      return { child, pid: child.pid, command: `node ${args.join(' ')}`, output: () => tail };
    }
    await sleep(100);
  }
  throw new Error(`Parley did not answer /healthz within ${SERVER_START_TIMEOUT_MILLIS} ms:\n${tail}`);
}

async function stopParley(server: ParleyProcess): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = waitForExit(server.child);
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
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

function cpuMicros(cpu: ProcessCpuTime): number {
  return cpu.userMicros + cpu.systemMicros;
}

/** Runs the whole fd-limit bench once; every child it starts is tracked in `children`. */
export async function measureFullProcess(config: FdLimitConfig, children: ChildSet): Promise<FdLimitMeasurement> {
  const fdCountCost = measureFdCountCost();
  const holdAddressCount = Math.ceil(config.connections / PEERS_PER_ADDRESS);
  const probeAddressCount = Math.ceil(config.probeConnections / PEERS_PER_ADDRESS);
  const addresses = Array.from({ length: holdAddressCount + probeAddressCount }, (_, index) => loopbackAddress(index));
  const holdAddresses = addresses.slice(0, holdAddressCount);
  const probeAddresses = addresses.slice(holdAddressCount);

  const port = await freePort();
  const server = await startParley(children, port);
  const generators: ReportingChild<HoldReport>[] = [];
  try {
    await sleep(1000);
    const healthBefore = await readHealth(port);
    const rssBeforeBytes = readProcessRssBytes(server.pid);
    const openFilesBefore = readOpenFileCount(server.pid);
    const slabBeforeBytes = readSlabBytes();

    // Fill.
    const joinStarted = performance.now();
    for (const [index, chunk] of split(holdAddresses, config.generators).entries()) {
      const workload: HoldWorkload = {
        mode: 'hold',
        port,
        localAddresses: chunk,
        peersPerAddress: PEERS_PER_ADDRESS,
        handshakeRate: HANDSHAKE_RATE,
        handshakeBurst: HANDSHAKE_BURST,
        connectConcurrency: CONNECT_CONCURRENCY,
        roomPrefix: `g${index}-`,
        deadlineMillis: GENERATOR_DEADLINE_MILLIS,
      };
      generators.push(forkReporting<HoldReport>(children, holdGeneratorEntry, workload, repoRoot));
    }
    const held = await Promise.all(generators.map((generator) => expectHold(generator, 'held')));
    const joinMillis = performance.now() - joinStarted;
    const joined = held.reduce((sum, report) => sum + report.peers, 0);
    await sleep(SETTLE_MILLIS);

    // Full and idle: memory, descriptors, heartbeat CPU.
    const healthFull = await readHealth(port);
    const rssFullBytes = readProcessRssBytes(server.pid);
    const openFilesFull = readOpenFileCount(server.pid);
    const slabFullBytes = readSlabBytes();
    const idleStart = readProcessCpu(server.pid);
    await sleep(IDLE_WINDOW_MILLIS);
    const idleCpuMicros = cpuMicros(readProcessCpu(server.pid)) - cpuMicros(idleStart);

    // Relay at a fixed rate, spread over the generators.
    const measureMillis = config.measureSeconds * 1000;
    const relay: HoldCommand = {
      kind: 'relay',
      relaysPerSecond: config.relaysPerSecond / generators.length,
      warmupMillis: WARMUP_MILLIS,
      measureMillis,
    };
    for (const generator of generators) generator.child.send(relay);
    await sleep(WARMUP_MILLIS);
    const relayStart = readProcessCpu(server.pid);
    const machineStart = readMachineBusyMicros();
    const relayStarted = performance.now();
    await sleep(measureMillis);
    const relayEnd = readProcessCpu(server.pid);
    const machineBusyMicros = readMachineBusyMicros() - machineStart;
    const relayWindowMillis = performance.now() - relayStarted;
    const results = await Promise.all(generators.map((generator) => expectHold(generator, 'held-relay-result')));
    const roundTrips = results.flatMap((result) => result.roundTripMicros).sort((a, b) => a - b);

    // More than it will take: refused cleanly, while it stays responsive.
    generators[0].child.send({
      kind: 'probe',
      localAddresses: probeAddresses,
      peersPerAddress: PEERS_PER_ADDRESS,
      timeoutMillis: PROBE_TIMEOUT_MILLIS,
    } satisfies HoldCommand);
    const probe = await expectHold(generators[0], 'probe-result');
    const openFilesProbe = readOpenFileCount(server.pid);
    const probeCpuStart = readProcessCpu(server.pid);
    await sleep(PROBE_CPU_WINDOW_MILLIS);
    const probeCpuMicros = cpuMicros(readProcessCpu(server.pid)) - cpuMicros(probeCpuStart);
    const healthProbe = await readHealth(port);

    // Everything closes: it must accept again.
    for (const generator of generators) generator.child.send({ kind: 'close' } satisfies HoldCommand);
    await Promise.all(generators.map((generator) => expectHold(generator, 'closed')));
    await Promise.all(generators.map((generator) => waitForExit(generator.child)));
    const closedAt = performance.now();
    let reacceptMillis = NaN;
    while (performance.now() - closedAt < REACCEPT_TIMEOUT_MILLIS) {
      const health = await readHealth(port);
      if (health.ok && health.files?.accepting !== false) {
        reacceptMillis = performance.now() - closedAt;
        break;
      }
      await sleep(100);
    }
    if (server.child.exitCode !== null) throw new Error(`Parley exited with ${server.child.exitCode}`);

    return {
      date: new Date().toISOString(),
      config,
      serverCommand: server.command.replace(String(port), 'PORT'),
      peersPerAddress: PEERS_PER_ADDRESS,
      sourceAddresses: holdAddressCount,
      handshakeRate: HANDSHAKE_RATE,
      handshakeBurst: HANDSHAKE_BURST,
      ephemeralPorts: readEphemeralPortCount(),
      totalMemoryBytes: totalmem(),
      cpuCount: cpus().length,
      fileLimit: healthBefore.files?.fileLimit ?? NaN,
      guard: healthFull.files ?? healthBefore.files,
      fdCountCost,
      joined,
      joinMillis,
      joinRetries: held.reduce((sum, report) => sum + report.retried, 0),
      sessionsFull: healthFull.sessions ?? NaN,
      openFilesBefore,
      openFilesFull,
      rssBeforeBytes,
      rssFullBytes,
      slabBytesPerSocket: (slabFullBytes - slabBeforeBytes) / (2 * joined),
      idleWindowMillis: IDLE_WINDOW_MILLIS,
      idleCpuMicros,
      relay: {
        relaysPerSecondTarget: config.relaysPerSecond,
        relayed: results.reduce((sum, result) => sum + result.relayed, 0),
        windowMillis: relayWindowMillis,
        serverCpuMicros: cpuMicros(relayEnd) - cpuMicros(relayStart),
        serverSystemMicros: relayEnd.systemMicros - relayStart.systemMicros,
        generatorCpuMicros: results.reduce((sum, result) => sum + result.generatorCpuMicros, 0),
        machineBusyMicros,
        roundTrips: roundTrips.length,
        roundTripP50Micros: percentile(roundTrips, 0.5),
        roundTripP99Micros: percentile(roundTrips, 0.99),
        roundTripMaxMicros: roundTrips.at(-1) ?? NaN,
        generatorLoopDelayP99Micros: Math.max(...results.map((result) => result.loopDelayP99Micros)),
        generatorLoopDelayMaxMicros: Math.max(...results.map((result) => result.loopDelayMaxMicros)),
        failedPeers: Math.max(...results.map((result) => result.failedPeers)),
      },
      probe: {
        attempted: probeAddressCount * PEERS_PER_ADDRESS,
        outcomes: probe.outcomes,
        retried: probe.retried,
        failedHeldPeers: probe.failedPeers,
        openFiles: openFilesProbe,
        cpuShare: probeCpuMicros / (PROBE_CPU_WINDOW_MILLIS * 1000),
        health: healthProbe.ok
          ? `200, accepting: ${String(healthProbe.files?.accepting)}`
          : (healthProbe.error ?? 'failed'),
      },
      reacceptMillis,
      serverLog: server
        .output()
        .split('\n')
        .filter((line) => /open-file limit|accepting new connections|listen again/.test(line))
        .slice(0, 6),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`fd-limit bench: ${message}\n--- Parley output (tail) ---\n${server.output()}`, { cause: error });
  } finally {
    for (const generator of generators) generator.child.kill('SIGKILL');
    await stopParley(server);
  }
}

/** Replaces the fd-limit section of `path` (or adds it before the hand-written notes). */
export function writeFdLimitSection(path: string, section: string, notesMarker: string): void {
  const text = readFileSync(path, 'utf8');
  const begin = text.indexOf(FD_LIMIT_BEGIN);
  const end = text.indexOf(FD_LIMIT_END);
  const updated =
    begin >= 0 && end > begin
      ? text.slice(0, begin) + section + text.slice(end + FD_LIMIT_END.length)
      : text.replace(notesMarker, `${section}\n\n${notesMarker}`);
  writeFileSync(path, updated);
}

// Run alone: `node --import tsx bench/fd-limit.ts`.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error('fd-limit bench: gave up after 8 minutes');
    children.killAll();
    process.exit(2);
  }, 8 * 60_000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      children.killAll();
      process.exit(130);
    });
  }
  try {
    const section = renderFdLimitSection(await measureFullProcess(fdLimitConfigFromEnv(), children));
    console.log(section);
    const output = process.env['BENCH_OUTPUT'];
    if (output !== undefined) {
      writeFdLimitSection(output, section, NOTES_MARKER);
      console.log(`wrote ${output}`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
