/**
 * Turns the bench's per-round measurements into the markdown of docs/performance.md: medians
 * per server, Parley's ratios against each baseline, the targets, every round's raw numbers, and
 * the one-process-at-its-file-limit section (bench/fd-limit-report.ts).
 */
import { FD_LIMIT_BEGIN, FD_LIMIT_END, renderFdLimitSection, type FdLimitMeasurement } from './fd-limit-report.js';

/** The fd-limit bench's measurement, or why there is none. */
export type FdLimitOutcome = FdLimitMeasurement | { readonly error: string };

/** The servers the bench knows, in table order. */
export type ServerId = 'parley' | 'socketio-uws' | 'socketio-node';

/** What one round measured for one server. */
export interface RoundMeasurement {
  readonly round: number;
  readonly server: ServerId;
  readonly relayed: number;
  readonly windowMillis: number;
  readonly serverCpuMicros: number;
  readonly serverSystemMicros: number;
  readonly generatorCpuMicros: number;
  readonly roundTripP50Micros: number;
  readonly roundTripP99Micros: number;
  readonly idleClients: number;
  readonly idleJoinMillis: number;
  readonly rssBeforeBytes: number;
  readonly rssIdleBytes: number;
  /** Live JS heap before and after idle, each right after a forced full GC; NaN when disabled. */
  readonly heapBeforeBytes: number;
  readonly heapIdleBytes: number;
}

/** Medians over rounds for one server. */
export interface ServerSummary {
  readonly server: ServerId;
  readonly rounds: number;
  readonly cpuMicrosPerMessage: number;
  /** The share of the server's CPU spent in the kernel. */
  readonly systemShare: number;
  readonly messagesPerSecond: number;
  readonly serverCoreShare: number;
  readonly roundTripP50Millis: number;
  readonly roundTripP99Millis: number;
  readonly rssBytesPerIdleClient: number;
  readonly heapBytesPerIdleClient: number;
  readonly generatorCpuMicrosPerMessage: number;
  readonly generatorCoreShare: number;
}

/** Everything the report states besides the measurements. */
export interface ReportContext {
  readonly date: string;
  readonly command: string;
  readonly cpuCount: number;
  readonly cpuModel: string;
  readonly nodeVersion: string;
  readonly kernel: string;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly skipped: readonly string[];
}

/** Table labels of the servers. */
export const SERVER_LABELS: Readonly<Record<ServerId, string>> = {
  parley: 'Parley (uWebSockets.js, own Engine.IO/Socket.IO)',
  'socketio-uws': 'socket.io 4 + `io.attachApp` (uWebSockets.js)',
  'socketio-node': 'socket.io 4 on Node http + ws',
};

/** Parley's targets: CPU per relayed message against socket.io on uWS, RSS per idle client. */
export const TARGETS = { cpuRatioVsSocketIoUws: 0.7, rssBytesPerIdleClient: 5 * 1024 } as const;

/** The median of the finite values, NaN if there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function perClient(after: number, before: number, clients: number): number {
  return clients > 0 ? (after - before) / clients : NaN;
}

/** Reduces one server's rounds to medians. */
export function summarize(server: ServerId, rounds: readonly RoundMeasurement[]): ServerSummary {
  const mine = rounds.filter((round) => round.server === server);
  const of = (pick: (round: RoundMeasurement) => number) => median(mine.map(pick));
  return {
    server,
    rounds: mine.length,
    cpuMicrosPerMessage: of((r) => r.serverCpuMicros / r.relayed),
    systemShare: of((r) => r.serverSystemMicros / r.serverCpuMicros),
    messagesPerSecond: of((r) => (r.relayed * 1000) / r.windowMillis),
    serverCoreShare: of((r) => r.serverCpuMicros / (r.windowMillis * 1000)),
    roundTripP50Millis: of((r) => r.roundTripP50Micros / 1000),
    roundTripP99Millis: of((r) => r.roundTripP99Micros / 1000),
    rssBytesPerIdleClient: of((r) => perClient(r.rssIdleBytes, r.rssBeforeBytes, r.idleClients)),
    heapBytesPerIdleClient: of((r) => perClient(r.heapIdleBytes, r.heapBeforeBytes, r.idleClients)),
    generatorCpuMicrosPerMessage: of((r) => r.generatorCpuMicros / r.relayed),
    generatorCoreShare: of((r) => r.generatorCpuMicros / (r.windowMillis * 1000)),
  };
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function kib(bytes: number): string {
  return fixed(bytes / 1024, 1);
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : 'n/a';
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

/** The summary table: one row per server. */
export function renderSummaryTable(summaries: readonly ServerSummary[]): string {
  return table(
    [
      'Server',
      'CPU µs / relayed msg',
      'of which kernel',
      'Relayed msg/s',
      'Server CPU (of one core)',
      'RTT p50 ms',
      'RTT p99 ms',
      'RSS KB / idle client',
      'of which live JS heap',
      'Generator CPU µs / msg',
      'Generator CPU (of one core)',
    ],
    summaries.map((s) => [
      SERVER_LABELS[s.server],
      fixed(s.cpuMicrosPerMessage, 2),
      percent(s.systemShare),
      fixed(s.messagesPerSecond, 0),
      percent(s.serverCoreShare),
      fixed(s.roundTripP50Millis, 2),
      fixed(s.roundTripP99Millis, 2),
      kib(s.rssBytesPerIdleClient),
      kib(s.heapBytesPerIdleClient),
      fixed(s.generatorCpuMicrosPerMessage, 2),
      percent(s.generatorCoreShare),
    ]),
  );
}

function ratio(a: number, b: number): number {
  return a / b;
}

/** Parley's medians divided by each baseline's (below 1 means Parley uses less). */
export function renderRatioTable(summaries: readonly ServerSummary[]): string | undefined {
  const parley = summaries.find((s) => s.server === 'parley');
  if (parley === undefined) return undefined;
  const baselines = summaries.filter((s) => s.server !== 'parley');
  return table(
    ['Parley ÷', 'CPU / relayed msg', 'RTT p50', 'RTT p99', 'RSS / idle client', 'live JS heap / idle client'],
    baselines.map((b) => [
      SERVER_LABELS[b.server],
      fixed(ratio(parley.cpuMicrosPerMessage, b.cpuMicrosPerMessage), 2),
      fixed(ratio(parley.roundTripP50Millis, b.roundTripP50Millis), 2),
      fixed(ratio(parley.roundTripP99Millis, b.roundTripP99Millis), 2),
      fixed(ratio(parley.rssBytesPerIdleClient, b.rssBytesPerIdleClient), 2),
      fixed(ratio(parley.heapBytesPerIdleClient, b.heapBytesPerIdleClient), 2),
    ]),
  );
}

/** The two targets, each with the measured value and whether it is met. */
export function renderTargetTable(summaries: readonly ServerSummary[]): string | undefined {
  const parley = summaries.find((s) => s.server === 'parley');
  const uws = summaries.find((s) => s.server === 'socketio-uws');
  if (parley === undefined) return undefined;
  const cpuRatio = uws === undefined ? NaN : ratio(parley.cpuMicrosPerMessage, uws.cpuMicrosPerMessage);
  const verdict = (met: boolean, measurable: boolean) => (measurable ? (met ? 'met' : '**not met**') : 'not measured');
  return table(
    ['Target', 'Measured', 'Verdict'],
    [
      [
        `CPU per relayed message ≤ ${TARGETS.cpuRatioVsSocketIoUws}× socket.io on uWS`,
        `${fixed(cpuRatio, 2)}× (${fixed(parley.cpuMicrosPerMessage, 2)} vs ${fixed(uws?.cpuMicrosPerMessage ?? NaN, 2)} µs)`,
        verdict(cpuRatio <= TARGETS.cpuRatioVsSocketIoUws, Number.isFinite(cpuRatio)),
      ],
      [
        `RSS per idle joined connection ≤ ${TARGETS.rssBytesPerIdleClient / 1024} KB`,
        `${kib(parley.rssBytesPerIdleClient)} KB (live JS heap: ${kib(parley.heapBytesPerIdleClient)} KB)`,
        verdict(
          parley.rssBytesPerIdleClient <= TARGETS.rssBytesPerIdleClient,
          Number.isFinite(parley.rssBytesPerIdleClient),
        ),
      ],
    ],
  );
}

/** Every round's raw numbers, so the spread behind each median is visible. */
export function renderRoundsTable(rounds: readonly RoundMeasurement[]): string {
  return table(
    [
      'Round',
      'Server',
      'Relayed msgs',
      'Window s',
      'Server CPU ms',
      'of which kernel ms',
      'µs / msg',
      'RTT p50 ms',
      'RTT p99 ms',
      'Idle clients',
      'Join s',
      'RSS before MB',
      'RSS idle MB',
      'RSS KB / client',
      'JS heap KB / client',
    ],
    rounds.map((r) => [
      String(r.round),
      r.server,
      String(r.relayed),
      fixed(r.windowMillis / 1000, 2),
      fixed(r.serverCpuMicros / 1000, 0),
      fixed(r.serverSystemMicros / 1000, 0),
      fixed(r.serverCpuMicros / r.relayed, 2),
      fixed(r.roundTripP50Micros / 1000, 2),
      fixed(r.roundTripP99Micros / 1000, 2),
      String(r.idleClients),
      fixed(r.idleJoinMillis / 1000, 2),
      fixed(r.rssBeforeBytes / 1048576, 1),
      fixed(r.rssIdleBytes / 1048576, 1),
      kib(perClient(r.rssIdleBytes, r.rssBeforeBytes, r.idleClients)),
      kib(perClient(r.heapIdleBytes, r.heapBeforeBytes, r.idleClients)),
    ]),
  );
}

/** The marker after which hand-written notes in docs/performance.md survive a rerun. */
export const NOTES_MARKER =
  '<!-- Hand-written notes below this line are kept when `npm run bench` rewrites this file. -->';

/** The fd-limit section, or a line saying why it is missing. */
function renderFdLimitOutcome(outcome: FdLimitOutcome): string {
  if (!('error' in outcome)) return renderFdLimitSection(outcome);
  const reason = outcome.error.split('\n', 1)[0];
  return [FD_LIMIT_BEGIN, '## One process at its open-file limit', '', `Not measured: ${reason}`, FD_LIMIT_END].join(
    '\n',
  );
}

/** The whole generated part of docs/performance.md; `fdLimit` undefined leaves that section out. */
export function renderReport(
  context: ReportContext,
  rounds: readonly RoundMeasurement[],
  summaries: readonly ServerSummary[],
  fdLimit?: FdLimitOutcome,
): string {
  const parameters = Object.entries(context.parameters).map(([name, value]) => `- ${name}: ${String(value)}`);
  const ratios = renderRatioTable(summaries);
  const targets = renderTargetTable(summaries);
  return [
    '# Performance',
    '',
    `Generated by \`${context.command}\` on ${context.date}. Medians over rounds; every round is listed at the end.`,
    '',
    '## Machine',
    '',
    `- CPUs (nproc): ${context.cpuCount}, ${context.cpuModel}`,
    `- Node ${context.nodeVersion}, Linux ${context.kernel}`,
    '- Server and load generator share these cores (loopback only), so they compete; CPU per message is',
    '  what the server process spent, not wall time.',
    '',
    '## Parameters',
    '',
    ...parameters,
    ...(context.skipped.length > 0 ? ['', ...context.skipped.map((reason) => `- Skipped: ${reason}`)] : []),
    '',
    '## Results',
    '',
    renderSummaryTable(summaries),
    '',
    ...(targets === undefined ? [] : ['### Targets', '', targets, '']),
    ...(ratios === undefined ? [] : ['### Parley against the baselines (same run)', '', ratios, '']),
    '## Method',
    '',
    '- Each server runs in its own process. Parley is `node --max-semi-space-size=2 bin/parley.js serve --host 127.0.0.1 --port PORT`',
    '  with its per-client limits lifted (`--max-connections-per-address`, `--max-sessions-per-address`, `--handshake-rate`',
    '  and `--message-rate` 1000000: all load comes from 127.0.0.1 at ~1000 messages/s per client; the checks still run)',
    '  (the Node flags are read from the shebang of `bin/parley.js`, so Parley is measured as it ships; the baselines run with Node defaults, as their users run them);',
    '  the baselines are `bench/servers/socketio-uws.ts` (stock socket.io, `io.attachApp` on uWebSockets.js) and',
    '  `bench/servers/socketio-node.ts` (stock socket.io on `http` + `ws`, default options), both running',
    '  `bench/servers/signaling-app.ts`: rooms from `?room=`, two per room, `role` + `ice-servers` on join,',
    '  `ready` to the waiting peer, `data` relayed with `socket.to(room).emit`.',
    '- All three are measured the same way, from outside: CPU = utime + stime of all threads from',
    '  `/proc/PID/stat` (10 ms ticks, hence windows of several seconds and 100k+ messages); memory =',
    '  `VmRSS` from `/proc/PID/status`.',
    '- Load: one generator process (`bench/load-generator.ts`) for every server, raw `ws` WebSockets',
    '  speaking Engine.IO v4 / Socket.IO v5 by hand (`40` connect, `2`/`3` heartbeat, `42["data",…]`).',
    '  Per room the peer that got `ready` keeps `inFlight` ~190-byte candidate messages in flight; the other',
    '  peer echoes each frame back unchanged; each returning echo is one round trip (send → relayed →',
    '  echoed → relayed back) and triggers the next message. Both directions count as relayed messages.',
    '  The send time travels in the candidate string, read back with one `indexOf`, no JSON parse.',
    "  Client frames use an all-zero masking key (valid framing; it spares the generator ws's per-frame",
    "  `randomFillSync`); servers unmask as usual. The generator's own CPU is reported beside each server:",
    '  most of it, like most of the servers\' "kernel" share, is loopback TCP work of one write per frame.',
    '- CPU per relayed message = server CPU in the measured window (after the warm-up) ÷ `data` messages',
    "  the clients received in that window. The generator reads the server's /proc counters at the",
    '  window edges itself, in the same tick as it snapshots its message counter. "of which kernel" is',
    '  the stime part of that CPU.',
    '- RSS per idle client: on a fresh server process, RSS read before connecting, then `idleClients`',
    '  clients join (two per room, handshake + `role` + `ice-servers` + `ready`), sit idle for',
    '  `idleSeconds`, RSS is read again; the difference ÷ clients. This is the judged number. Right after',
    '  each RSS reading a full GC is forced and the live JS heap (`process.memoryUsage().heapUsed`) is',
    '  read, by a SIGUSR2 handler preloaded identically into all three servers (`node --expose-gc',
    '  --import=data:…`, nothing else changes in their command lines); the "of which live JS heap" column',
    '  is that difference ÷ clients. RSS above it is native memory plus V8 heap pages grown during the',
    '  connection burst and not yet given back. The relay load then runs on the',
    '  same process after the idle clients have disconnected.',
    '- Rounds interleave the servers, rotating the order each round, so drift on these shared',
    '  cores hits every server alike.',
    '',
    '## Every round',
    '',
    renderRoundsTable(rounds),
    '',
    ...(fdLimit === undefined ? [] : [renderFdLimitOutcome(fdLimit), '']),
  ].join('\n');
}
