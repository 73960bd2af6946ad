/**
 * Renders bench/fd-limit.ts's measurement as a section of docs/performance.md: what one Parley
 * process holds at its open-file limit, what each connection and each relayed message costs,
 * how it refuses more, and a projection to 50,000 and 100,000 connections per process.
 */
import { defaultFdReserve } from '../src/signaling/fd-guard.js';

/** The fd guard's state as /healthz reports it. */
export interface GuardState {
  readonly accepting: boolean;
  readonly openFiles: number;
  readonly fileLimit: number;
  readonly highWatermark: number;
  readonly lowWatermark: number;
}

/** What one count of the open descriptors costs, at `openFiles` open. */
export interface FdCountCost {
  readonly openFiles: number;
  /** `stat('/proc/self/fd').size` (Linux 6.2+). */
  readonly statMicros: number;
  /** `readdir('/proc/self/fd')`. */
  readonly readdirMicros: number;
}

/** Everything one fd-limit run measured. */
export interface FdLimitMeasurement {
  readonly date: string;
  readonly config: {
    readonly connections: number;
    readonly generators: number;
    readonly relaysPerSecond: number;
    readonly measureSeconds: number;
    readonly probeConnections: number;
  };
  readonly serverCommand: string;
  readonly peersPerAddress: number;
  readonly sourceAddresses: number;
  readonly handshakeRate: number;
  readonly handshakeBurst: number;
  /** Ephemeral ports one source address has towards one server address and port. */
  readonly ephemeralPorts: number;
  readonly totalMemoryBytes: number;
  readonly cpuCount: number;
  readonly fileLimit: number;
  /** Undefined when /healthz does not report the guard. */
  readonly guard: GuardState | undefined;
  readonly fdCountCost: FdCountCost;
  readonly joined: number;
  readonly joinMillis: number;
  /** Handshakes the server refused with 429 (too fast from one address) that were tried again. */
  readonly joinRetries: number;
  readonly sessionsFull: number;
  readonly openFilesBefore: number;
  readonly openFilesFull: number;
  readonly rssBeforeBytes: number;
  readonly rssFullBytes: number;
  /** Kernel slab growth per socket (machine-wide ÷ both ends of every connection); NaN if unreadable. */
  readonly slabBytesPerSocket: number;
  readonly idleWindowMillis: number;
  readonly idleCpuMicros: number;
  readonly relay: {
    readonly relaysPerSecondTarget: number;
    readonly relayed: number;
    readonly windowMillis: number;
    readonly serverCpuMicros: number;
    readonly serverSystemMicros: number;
    readonly generatorCpuMicros: number;
    /** Busy CPU time of the whole machine in the window (everything, the bench included). */
    readonly machineBusyMicros: number;
    readonly roundTrips: number;
    readonly roundTripP50Micros: number;
    readonly roundTripP99Micros: number;
    readonly roundTripMaxMicros: number;
    /** The worst generator's event-loop delay: the part of a round trip's tail that is the client's. */
    readonly generatorLoopDelayP99Micros: number;
    readonly generatorLoopDelayMaxMicros: number;
    readonly failedPeers: number;
  };
  readonly probe: {
    readonly attempted: number;
    readonly outcomes: Readonly<Record<string, number>>;
    readonly retried: number;
    readonly failedHeldPeers: number;
    readonly openFiles: number;
    readonly cpuShare: number;
    readonly health: string;
  };
  readonly reacceptMillis: number;
  /** The server's lines about the guard, as logged. */
  readonly serverLog: readonly string[];
}

/** Markers around the section, so that bench/fd-limit.ts run alone can replace it in place. */
export const FD_LIMIT_BEGIN = '<!-- fd-limit:begin -->';
export const FD_LIMIT_END = '<!-- fd-limit:end -->';

/** Share of one core the projection allows a process before calling it the limit. */
const CPU_BUDGET = 0.7;
/** Share of the machine's memory the projection allows one process. */
const MEMORY_BUDGET = 0.8;

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function thousands(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%` : 'n/a';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

/** The per-connection and per-message costs the projection scales. */
export function unitCosts(m: FdLimitMeasurement) {
  const rssPerConnection = (m.rssFullBytes - m.rssBeforeBytes) / m.joined;
  const idleMicrosPerSecond = m.idleCpuMicros / (m.idleWindowMillis / 1000);
  const idleMicrosPerConnectionSecond = idleMicrosPerSecond / m.joined;
  const relayedPerSecond = (m.relay.relayed * 1000) / m.relay.windowMillis;
  const grossMicrosPerRelay = m.relay.serverCpuMicros / m.relay.relayed;
  const idleDuringRelay = idleMicrosPerSecond * (m.relay.windowMillis / 1000);
  const netMicrosPerRelay = (m.relay.serverCpuMicros - idleDuringRelay) / m.relay.relayed;
  const slab = Number.isFinite(m.slabBytesPerSocket) ? Math.max(0, m.slabBytesPerSocket) : 0;
  return {
    rssPerConnection,
    idleMicrosPerConnectionSecond,
    relayedPerSecond,
    grossMicrosPerRelay,
    netMicrosPerRelay,
    /** Relays per second per connection in the measurement, for the proportional projection. */
    relaysPerConnectionSecond: relayedPerSecond / m.joined,
    kernelBytesPerConnection: slab,
  };
}

/** Descriptors a process needs for `connections`: its own, the connections and the guard's two reserves. */
function fileLimitFor(connections: number, baseFiles: number): number {
  let limit = connections + baseFiles;
  for (let step = 0; step < 5; step++) limit = connections + baseFiles + 2 * defaultFdReserve(limit);
  return limit;
}

/** The section of docs/performance.md. */
export function renderFdLimitSection(m: FdLimitMeasurement): string {
  const unit = unitCosts(m);
  const budget = m.guard === undefined ? NaN : m.guard.lowWatermark;
  const outcomes = Object.entries(m.probe.outcomes)
    .sort(([, a], [, b]) => b - a)
    .map(([outcome, count]) => `${outcome}: ${count}`)
    .join(', ');
  const sizes = [m.joined, 50_000, 100_000];
  const rate = m.config.relaysPerSecond;
  const projection = sizes.map((n) => {
    const rssBytes = m.rssBeforeBytes + unit.rssPerConnection * n;
    const kernelBytes = unit.kernelBytesPerConnection * n;
    const idleShare = (unit.idleMicrosPerConnectionSecond * n) / 1e6;
    const fixedRateShare = idleShare + (rate * unit.netMicrosPerRelay) / 1e6;
    const proportionalRate = unit.relaysPerConnectionSecond * n;
    const proportionalShare = idleShare + (proportionalRate * unit.netMicrosPerRelay) / 1e6;
    const capacity = ((1 - idleShare) * 1e6) / unit.netMicrosPerRelay;
    return [
      `${thousands(n)}${n === m.joined ? ' (measured)' : ''}`,
      fixed(rssBytes / 1048576, 0),
      fixed(kernelBytes / 1048576, 0),
      percent(idleShare),
      percent(fixedRateShare),
      `${percent(proportionalShare)} at ${thousands(proportionalRate)}/s`,
      thousands(capacity),
      thousands(fileLimitFor(n, m.openFilesBefore)),
    ];
  });
  // Where each resource runs out, for one process on this machine.
  const perConnectionBytes = unit.rssPerConnection + unit.kernelBytesPerConnection;
  const memoryCeiling = (m.totalMemoryBytes * MEMORY_BUDGET - m.rssBeforeBytes) / perConnectionBytes;
  const proportionalCeiling =
    (CPU_BUDGET * 1e6) / (unit.idleMicrosPerConnectionSecond + unit.relaysPerConnectionSecond * unit.netMicrosPerRelay);
  const fixedRateCeiling = (CPU_BUDGET * 1e6 - rate * unit.netMicrosPerRelay) / unit.idleMicrosPerConnectionSecond;
  const ceilings: [string, number, string][] = [
    [
      'ports per source address',
      m.ephemeralPorts,
      `only when every connection comes from one address, as behind a reverse proxy on 127.0.0.1 (docs/deployment.md): one source address has ${thousands(m.ephemeralPorts)} ephemeral ports towards one server port (ip_local_port_range); more needs several proxy source addresses or Parley ports`,
    ],
    [
      `CPU, activity per connection as measured (${fixed(unit.relaysPerConnectionSecond, 2)} relays/s each)`,
      proportionalCeiling,
      `${percent(CPU_BUDGET)} of the one core the event loop runs on, heartbeats included`,
    ],
    [
      `memory (${fixed((m.totalMemoryBytes * MEMORY_BUDGET) / 1073741824, 0)} GB, ${percent(MEMORY_BUDGET)} of this machine)`,
      memoryCeiling,
      `RSS plus kernel socket memory, ${fixed(perConnectionBytes / 1024, 1)} KB per connection`,
    ],
    [
      `CPU, heartbeats only plus ${thousands(rate)} relays/s in all`,
      fixedRateCeiling,
      `${percent(CPU_BUDGET)} of one core`,
    ],
  ];
  ceilings.sort((a, b) => a[1] - b[1]);

  return [
    FD_LIMIT_BEGIN,
    '## One process at its open-file limit',
    '',
    `Generated by \`npm run bench\` (bench/fd-limit.ts) on ${m.date}.`,
    '',
    `- Server: \`${m.serverCommand}\`, every default (Parley as it ships, per-address limits included),`,
    `  open-file limit ${thousands(m.fileLimit)}${m.guard === undefined ? '' : `; the fd guard pauses accepting at ${thousands(m.guard.highWatermark)} open and resumes below ${thousands(m.guard.lowWatermark)}, the engine's \`maxConnections\` defaults to ${thousands(budget)}`}.`,
    `- Load: ${m.config.generators} generator processes (bench/hold-generator.ts, raw \`ws\` peers speaking Engine.IO/Socket.IO),`,
    `  ${m.sourceAddresses} loopback source addresses (127.0.0.2, ...) with ${m.peersPerAddress} peers each, under the default 100`,
    `  connections per address; handshakes paced at ${m.handshakeRate}/s per address after a burst of ${m.handshakeBurst} (the default allows 20/s, 40).`,
    `  Two peers per room, both joined (\`role\`, \`ice-servers\`, \`ready\`).`,
    `- Relay: open loop at ${thousands(rate)} relays/s in all (a relay is one \`data\` message delivered to the other peer;`,
    "  each send is relayed to B, echoed, and relayed back to A: two relays, one round trip timed in A's process),",
    `  rooms in turn; ${fixed(m.relay.windowMillis / 1000, 1)} s measured after a warm-up. CPU from /proc/PID/stat over the window;`,
    '  "net" subtracts the idle (heartbeat) CPU measured just before.',
    '',
    table(
      ['Measured', 'Value'],
      [
        ['Joined connections held', `${thousands(m.joined)} (server sessions: ${thousands(m.sessionsFull)})`],
        [
          'Time to join them all',
          `${fixed(m.joinMillis / 1000, 1)} s (handshakes refused with 429 and retried: ${m.joinRetries})`,
        ],
        ['Server open files before / full', `${thousands(m.openFilesBefore)} / ${thousands(m.openFilesFull)}`],
        [
          'Server RSS before / full',
          `${fixed(m.rssBeforeBytes / 1048576, 1)} MB / ${fixed(m.rssFullBytes / 1048576, 1)} MB`,
        ],
        ['RSS per connection', `${fixed(unit.rssPerConnection / 1024, 2)} KB`],
        ['Kernel slab per socket (outside RSS)', `${fixed(m.slabBytesPerSocket / 1024, 2)} KB`],
        [
          'Idle CPU (heartbeats every 25 s)',
          `${percent(m.idleCpuMicros / (m.idleWindowMillis * 1000))} of a core, ${fixed(unit.idleMicrosPerConnectionSecond, 3)} µs/s per connection`,
        ],
        [
          `Relayed msg/s (asked ${thousands(rate)})`,
          `${thousands(unit.relayedPerSecond)} (${thousands(m.relay.roundTrips)} round trips timed)`,
        ],
        [
          'Round trip A → B → A, p50 / p99 / max',
          `${fixed(m.relay.roundTripP50Micros / 1000, 2)} / ${fixed(m.relay.roundTripP99Micros / 1000, 2)} / ${fixed(m.relay.roundTripMaxMicros / 1000, 1)} ms`,
        ],
        [
          'Generator event-loop delay, p99 / max (worst generator)',
          `${fixed(m.relay.generatorLoopDelayP99Micros / 1000, 2)} / ${fixed(m.relay.generatorLoopDelayMaxMicros / 1000, 1)} ms`,
        ],
        [
          'Server CPU per relayed msg, gross / net of idle',
          `${fixed(unit.grossMicrosPerRelay, 2)} / ${fixed(unit.netMicrosPerRelay, 2)} µs (kernel ${percent(m.relay.serverSystemMicros / m.relay.serverCpuMicros)})`,
        ],
        ['Server CPU while relaying', `${percent(m.relay.serverCpuMicros / (m.relay.windowMillis * 1000))} of a core`],
        [
          'Generators\u2019 CPU while relaying (all)',
          `${percent(m.relay.generatorCpuMicros / (m.relay.windowMillis * 1000))} of a core`,
        ],
        [
          'Everything else on the machine while relaying',
          `${percent(Math.max(0, m.relay.machineBusyMicros - m.relay.serverCpuMicros - m.relay.generatorCpuMicros) / (m.relay.windowMillis * 1000))} of a core (of ${m.cpuCount})`,
        ],
        ['Held peers lost during the run', String(m.relay.failedPeers + m.probe.failedHeldPeers)],
      ],
    ),
    '',
    `**More than it takes.** With the server full, ${thousands(m.probe.attempted)} more peers tried to join from`,
    `${Math.ceil(m.probe.attempted / m.peersPerAddress)} fresh addresses: ${outcomes}. Server open files then ${thousands(m.probe.openFiles)},`,
    `server CPU over the next 2 s ${percent(m.probe.cpuShare)} of a core, /healthz: ${m.probe.health}. After every`,
    `generator closed, /healthz answered${m.guard === undefined ? '' : ' with `accepting: true`'} after ${fixed(m.reacceptMillis / 1000, 1)} s.`,
    ...(m.serverLog.length > 0 ? ['Server log:', '', '```', ...m.serverLog, '```'] : []),
    '',
    `**Counting open files** (what the fd guard samples), at ${thousands(m.fdCountCost.openFiles)} open in one process:`,
    `\`stat\` of /proc/self/fd (its size is the count on Linux 6.2+) ${fixed(m.fdCountCost.statMicros, 1)} µs,`,
    `\`readdir\` of it ${fixed(m.fdCountCost.readdirMicros / 1000, 1)} ms. The guard uses \`stat\` and falls back to \`readdir\`;`,
    'it samples every 10 ms to 1 s by the headroom left, never more than 1% of a core by the cost of the last sample.',
    '',
    '### Projection to more connections per process',
    '',
    'Linear in the measured unit costs: RSS per connection, kernel slab per socket, idle CPU per connection,',
    `net CPU per relayed message. "Proportional" keeps each connection as busy as here (${fixed(unit.relaysPerConnectionSecond, 2)} relays/s).`,
    'The CPU per message is the one at this moderate rate, where nearly every message wakes the event loop on its',
    'own; under saturation wake-ups are shared and it falls (the comparison above, 64 busy pairs), so the CPU',
    'columns are an upper bound.',
    '',
    table(
      [
        'Connections',
        'RSS MB',
        'Kernel MB',
        'Idle CPU',
        `CPU at ${thousands(rate)} relays/s`,
        'CPU, proportional',
        'Relays/s one core can do (at this cost)',
        'ulimit -n needed',
      ],
      projection,
    ),
    '',
    'Where one process runs out, first to last (on this machine, these unit costs):',
    '',
    ...ceilings.map(([what, ceiling, why]) => `- **${what}**: ~${thousands(ceiling)} connections; ${why}.`),
    `- **file descriptors**: the limit here (${thousands(m.fileLimit)}) is a setting: 50,000 needs \`ulimit -n\` ≥ ${thousands(fileLimitFor(50_000, m.openFilesBefore))}, 100,000 ≥ ${thousands(fileLimitFor(100_000, m.openFilesBefore))}.`,
    FD_LIMIT_END,
  ].join('\n');
}
