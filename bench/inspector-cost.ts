/**
 * What the live state inspector costs a relaying server: server CPU per relayed message at 200
 * rooms relaying, with `--inspect` off, on with no viewer, and on with ONE viewer connected to
 * `/inspector/events` (reading every frame), interleaved over rounds in one run. Run by
 * `npm run bench` after the comparison (BENCH_INSPECTOR=0 skips it), or alone:
 *
 *   npm run build && node --import tsx bench/inspector-cost.ts          (prints the section)
 *   BENCH_OUTPUT=docs/performance.md node --import tsx bench/inspector-cost.ts   (also writes it)
 *
 * Environment (defaults in brackets): BENCH_INSPECTOR_ROUNDS [3], BENCH_INSPECTOR_ROOMS [200],
 * BENCH_IN_FLIGHT [4], BENCH_WARMUP_SECONDS [2], BENCH_SECONDS [6].
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { ChildSet, forkReporting, freePort, envNumber, sleep, waitForExit } from './child-processes.js';
import type { GeneratorReport, RelayResult, RelayWorkload } from './generator-protocol.js';
import { NOTES_MARKER } from './report.js';
import { sectionOf, withSection } from './doc-section.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const generatorEntry = fileURLToPath(new URL('load-generator.ts', import.meta.url));

/** Where docs/performance.md keeps this section; a rerun of either script replaces it. */
export const INSPECTOR_BEGIN = '<!-- inspector-cost:begin -->';
export const INSPECTOR_END = '<!-- inspector-cost:end -->';

/** The three ways the server runs. */
export type InspectorMode = 'off' | 'on, no viewer' | 'on, one viewer';
const MODES: readonly InspectorMode[] = ['off', 'on, no viewer', 'on, one viewer'];

/** How the measurement runs. */
export interface InspectorCostConfig {
  readonly rounds: number;
  readonly rooms: number;
  readonly inFlight: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

/** One server run. */
export interface InspectorRound {
  readonly round: number;
  readonly mode: InspectorMode;
  readonly relayed: number;
  readonly windowMillis: number;
  readonly serverCpuMicros: number;
  readonly serverSystemMicros: number;
  /** Frames and bytes the viewer read over the whole run (joins, relay window, leaves); 0 without one. */
  readonly viewerFrames: number;
  readonly viewerBytes: number;
}

/** The measurement. */
export interface InspectorCost {
  readonly date: string;
  readonly config: InspectorCostConfig;
  readonly rounds: readonly InspectorRound[];
}

/** The configuration from the environment. */
export function inspectorCostConfigFromEnv(): InspectorCostConfig {
  return {
    rounds: envNumber('BENCH_INSPECTOR_ROUNDS', 3),
    rooms: envNumber('BENCH_INSPECTOR_ROOMS', 200),
    inFlight: envNumber('BENCH_IN_FLIGHT', 4),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 2),
    seconds: envNumber('BENCH_SECONDS', 6),
  };
}

/** Parley as the comparison runs it (bench/run.ts): per-client limits lifted, Node flags from the shebang. */
function parleyArgs(port: number, inspect: boolean): string[] {
  const shebang = readFileSync(`${repoRoot}bin/parley.js`, 'utf8').split('\n', 1)[0];
  const nodeFlags = shebang.split(/\s+/).filter((word) => word.startsWith('--'));
  return [
    ...nodeFlags,
    'bin/parley.js',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    ...['--max-connections-per-address', '--max-sessions-per-address', '--handshake-rate', '--message-rate'].flatMap(
      (flag) => [flag, '1000000'],
    ),
    ...(inspect ? ['--inspect'] : []),
  ];
}

async function startParley(
  children: ChildSet,
  inspect: boolean,
): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  if (!existsSync(`${repoRoot}dist/signaling/cli.js`))
    throw new Error('dist/signaling/cli.js is missing: npm run build');
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  const child = children.track(
    spawn(process.execPath, parleyArgs(port, inspect), { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}: ${tail}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await waitForExit(child);
    },
  };
}

/** A viewer that reads every frame and counts them. */
async function connectViewer(port: number): Promise<{ frames: number; bytes: number; close(): void }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/inspector/events`);
  const viewer = { frames: 0, bytes: 0, close: () => socket.close() };
  socket.on('message', (data: Buffer) => {
    viewer.frames += 1;
    viewer.bytes += data.length;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return viewer;
}

async function measureOne(
  children: ChildSet,
  config: InspectorCostConfig,
  round: number,
  mode: InspectorMode,
): Promise<InspectorRound> {
  const server = await startParley(children, mode !== 'off');
  try {
    const viewer = mode === 'on, one viewer' ? await connectViewer(server.port) : undefined;
    const workload: RelayWorkload = {
      mode: 'relay',
      port: server.port,
      rooms: config.rooms,
      inFlight: config.inFlight,
      warmupMillis: config.warmupSeconds * 1000,
      measureMillis: config.seconds * 1000,
      serverPid: server.pid,
      roomPrefix: `inspect${round}-`,
      connectConcurrency: 100,
      deadlineMillis: 60_000 + (config.warmupSeconds + config.seconds) * 1000,
    };
    const generator = forkReporting<GeneratorReport>(children, generatorEntry, workload, repoRoot);
    const report = await generator.next();
    await waitForExit(generator.child);
    if (report.kind !== 'relay-result') {
      throw new Error(`load generator: ${report.kind === 'failed' ? report.reason : report.kind}`);
    }
    const result: RelayResult = report;
    // Let the leaves reach the viewer too.
    await sleep(300);
    viewer?.close();
    return {
      round,
      mode,
      relayed: result.relayed,
      windowMillis: result.windowMillis,
      serverCpuMicros: result.serverCpuMicros,
      serverSystemMicros: result.serverSystemMicros,
      viewerFrames: viewer?.frames ?? 0,
      viewerBytes: viewer?.bytes ?? 0,
    };
  } finally {
    await server.stop();
  }
}

/** Runs every mode `rounds` times, rotating the order each round. */
export async function measureInspectorCost(children: ChildSet, config: InspectorCostConfig): Promise<InspectorCost> {
  const rounds: InspectorRound[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    const order = MODES.map((_, index) => MODES[(index + round - 1) % MODES.length]);
    for (const mode of order) {
      const measured = await measureOne(children, config, round, mode);
      rounds.push(measured);
      console.log(
        `inspector round ${round} ${mode}: ${(measured.serverCpuMicros / measured.relayed).toFixed(2)} µs/msg, ` +
          `${measured.relayed} msgs, viewer ${measured.viewerFrames} frames`,
      );
    }
  }
  return { date: new Date().toISOString(), config, rounds };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The docs/performance.md section, between its markers. */
export function renderInspectorSection(cost: InspectorCost): string {
  const { config } = cost;
  const perMessage = (r: InspectorRound) => r.serverCpuMicros / r.relayed;
  const medianOf = (mode: InspectorMode) => median(cost.rounds.filter((r) => r.mode === mode).map(perMessage));
  const off = medianOf('off');
  const rows = MODES.map((mode) => {
    const mine = cost.rounds.filter((r) => r.mode === mode);
    const value = medianOf(mode);
    const rate = median(mine.map((r) => (r.relayed / r.windowMillis) * 1000));
    const frames = median(mine.map((r) => r.viewerFrames));
    return `| ${mode} | ${value.toFixed(2)} | ${(value / off).toFixed(2)} | ${Math.round(rate)} | ${mode === 'on, one viewer' ? Math.round(frames) : '–'} |`;
  });
  const every = cost.rounds.map(
    (r) =>
      `| ${r.round} | ${r.mode} | ${r.relayed} | ${(r.windowMillis / 1000).toFixed(2)} | ${Math.round(r.serverCpuMicros / 1000)} | ${perMessage(r).toFixed(2)} | ${r.viewerFrames} | ${(r.viewerBytes / 1024).toFixed(0)} |`,
  );
  return [
    INSPECTOR_BEGIN,
    '## The live state inspector',
    '',
    `Generated by \`bench/inspector-cost.ts\` (run by \`npm run bench\`) on ${cost.date}. Medians over ${config.rounds} rounds.`,
    '',
    `- Parley as in the comparison above (per-client limits lifted), ${config.rooms} rooms relaying, ${config.inFlight}`,
    `  messages in flight per room, ${config.warmupSeconds} s warm-up, ${config.seconds} s measured; the same load generator`,
    '  and the same CPU reading (server utime + stime from /proc over the window ÷ messages relayed in it).',
    '- Three ways, interleaved and rotated each round: `--inspect` off; on with no viewer; on with ONE viewer',
    '  connected to `/inspector/events` before the clients join and reading every frame (in the bench process).',
    '',
    '| Inspector | Server CPU µs / relayed msg | ÷ off | Relayed msg/s | Frames the viewer read (whole run) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Relaying never touches the inspector: a `data` message is no lifecycle event of the room or the',
    'session machine, so nothing is observed, built or sent for it. What the viewer reads is the joins',
    '(each session opening, each room filling) and the leaves at the end (heartbeats come every 25 s);',
    'the difference in the relay window is the noise of these shared cores.',
    '',
    '| Round | Inspector | Relayed msgs | Window s | Server CPU ms | µs / msg | Viewer frames | Viewer KB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...every,
    INSPECTOR_END,
  ].join('\n');
}

/** `document` with its inspector section replaced by `section`, or `section` added before the notes. */
export function withInspectorSection(document: string, section: string, notesMarker: string): string {
  return withSection(document, section, { begin: INSPECTOR_BEGIN, end: INSPECTOR_END }, notesMarker);
}

/** The inspector section of an existing document, if it has one. */
export function inspectorSectionOf(document: string): string | undefined {
  return sectionOf(document, { begin: INSPECTOR_BEGIN, end: INSPECTOR_END });
}

// Run alone: measure, print, and write into BENCH_OUTPUT if set.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error('bench/inspector-cost.ts: gave up after 10 minutes');
    children.killAll();
    process.exit(2);
  }, 10 * 60_000);
  deadline.unref();
  try {
    const section = renderInspectorSection(await measureInspectorCost(children, inspectorCostConfigFromEnv()));
    console.log(`\n${section}\n`);
    const output = process.env['BENCH_OUTPUT'];
    if (output !== undefined && output !== '') {
      const previous = existsSync(output) ? readFileSync(output, 'utf8') : '';
      writeFileSync(output, withInspectorSection(previous, section, NOTES_MARKER));
      console.log(`wrote ${output}`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
