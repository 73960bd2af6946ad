/**
 * Delivery under churn, with connection state recovery on and off, in one run: the measure of
 * a public Socket.IO benchmark (10,000 clients, each dropped every 15 s while events flow:
 * Socket.IO delivered 84.55% of events without recovery, 100% with it), at a count this
 * machine holds. The server (bench/servers/recovery-churn-server.ts) is Parley's engine emitting
 * numbered events to every client at a steady rate; the clients (bench/recovery-churn-clients.ts)
 * are stock socket.io-client sockets in one child process, each dropped every 15 s at its own
 * phase by closing its Engine.IO transport, reconnecting with socket.io-client's default delays.
 * Emitting stops with the churn; after a settling time each client's numbers are counted:
 * delivered (distinct numbers received over numbers generated for it), duplicates, out of order.
 *
 * Run by `npm run bench` (BENCH_CHURN=0 skips it and keeps the section the file had), or alone:
 *
 *   node --import tsx bench/recovery-churn.ts                                    (prints the section)
 *   BENCH_OUTPUT=docs/performance.md node --import tsx bench/recovery-churn.ts   (also writes it)
 *
 * Environment (defaults in brackets): BENCH_CHURN_CLIENTS [1000], BENCH_CHURN_SECONDS [45],
 * BENCH_CHURN_DROP_SECONDS [15], BENCH_CHURN_RATE [4 events a second per client],
 * BENCH_CHURN_SETTLE_SECONDS [5], BENCH_CHURN_TRANSPORT [websocket] (or polling).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ChildSet, envNumber, forkReporting, waitForExit, sleep } from './child-processes.js';
import type {
  ChurnClientsConfig,
  ChurnClientsReport,
  ChurnServerConfig,
  ChurnServerReport,
} from './recovery-churn-protocol.js';
import { NOTES_MARKER } from './report.js';
import { sectionOf, withSection } from './doc-section.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = fileURLToPath(new URL('servers/recovery-churn-server.ts', import.meta.url));
const clientsEntry = fileURLToPath(new URL('recovery-churn-clients.ts', import.meta.url));

/** Where docs/performance.md keeps this section; a rerun replaces it. */
export const CHURN_BEGIN = '<!-- recovery-churn:begin -->';
export const CHURN_END = '<!-- recovery-churn:end -->';

/** How the measurement runs. */
export interface ChurnConfig {
  readonly clients: number;
  readonly seconds: number;
  readonly dropEverySeconds: number;
  readonly eventsPerSecond: number;
  readonly settleSeconds: number;
  readonly transport: 'websocket' | 'polling';
}

/** One mode's outcome. */
export interface ChurnOutcome {
  readonly recovery: boolean;
  readonly generated: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly drops: number;
  readonly recovered: number;
  readonly fresh: number;
  /** Clients delivered every event generated for them. */
  readonly completeClients: number;
  readonly disconnectedAtEnd: number;
  readonly connectMillis: number;
}

/** The measurement. */
export interface ChurnMeasurement {
  readonly date: string;
  readonly config: ChurnConfig;
  readonly outcomes: readonly ChurnOutcome[];
}

/** The configuration from the environment; `quick` for a short development run. */
export function churnConfigFromEnv(quick = false): ChurnConfig {
  return {
    clients: envNumber('BENCH_CHURN_CLIENTS', quick ? 200 : 1000),
    seconds: envNumber('BENCH_CHURN_SECONDS', quick ? 16 : 45),
    dropEverySeconds: envNumber('BENCH_CHURN_DROP_SECONDS', 15),
    eventsPerSecond: envNumber('BENCH_CHURN_RATE', 4),
    settleSeconds: envNumber('BENCH_CHURN_SETTLE_SECONDS', 5),
    transport: process.env['BENCH_CHURN_TRANSPORT'] === 'polling' ? 'polling' : 'websocket',
  };
}

/** One mode, recovery on or off: a fresh server and fresh clients. */
async function measureMode(children: ChildSet, config: ChurnConfig, recovery: boolean): Promise<ChurnOutcome> {
  const serverConfig: ChurnServerConfig = {
    recoveryWindowMillis: recovery ? 120_000 : 0,
    eventsPerSecond: config.eventsPerSecond,
  };
  const server = forkReporting<ChurnServerReport>(children, serverEntry, serverConfig, repoRoot);
  try {
    const listening = await server.next();
    if (listening.type !== 'listening') throw new Error(`churn server: ${listening.type} before listening`);
    const clientsConfig: ChurnClientsConfig = {
      port: listening.port,
      clients: config.clients,
      seconds: config.seconds,
      dropEverySeconds: config.dropEverySeconds,
      transport: config.transport,
      connectConcurrency: 50,
    };
    const churning = forkReporting<ChurnClientsReport>(children, clientsEntry, clientsConfig, repoRoot);
    try {
      const connected = await churning.next();
      if (connected.type !== 'connected') throw new Error(`churn clients: ${connected.type} before connected`);
      server.child.send({ type: 'emit' });
      churning.child.send({ type: 'churn' });
      const churned = await churning.next();
      if (churned.type !== 'churned') throw new Error(`churn clients: ${churned.type} before churned`);
      server.child.send({ type: 'stop' });
      const stopped = await server.next();
      if (stopped.type !== 'stopped') throw new Error(`churn server: ${stopped.type} before stopped`);
      await sleep(config.settleSeconds * 1000);
      churning.child.send({ type: 'report' });
      const final = await churning.next();
      if (final.type !== 'report') throw new Error(`churn clients: ${final.type} before report`);
      let generated = 0;
      let delivered = 0;
      let duplicates = 0;
      let outOfOrder = 0;
      let completeClients = 0;
      final.stats.forEach((stats, index) => {
        const expected = stopped.generated[index] ?? 0;
        generated += expected;
        delivered += Math.min(stats.distinct, expected);
        duplicates += stats.duplicates;
        outOfOrder += stats.outOfOrder;
        if (stats.distinct >= expected) completeClients += 1;
      });
      return {
        recovery,
        generated,
        delivered,
        duplicates,
        outOfOrder,
        drops: churned.drops,
        recovered: final.recovered,
        fresh: final.fresh,
        completeClients,
        disconnectedAtEnd: final.disconnected,
        connectMillis: connected.millis,
      };
    } finally {
      churning.child.disconnect();
      await waitForExit(churning.child);
    }
  } finally {
    if (server.child.connected) server.child.disconnect();
    await waitForExit(server.child);
  }
}

/** Recovery off, then on, each against its own server process. */
export async function measureRecoveryChurn(children: ChildSet, config: ChurnConfig): Promise<ChurnMeasurement> {
  const outcomes: ChurnOutcome[] = [];
  for (const recovery of [false, true]) {
    const outcome = await measureMode(children, config, recovery);
    console.log(
      `recovery churn, recovery ${recovery ? 'on' : 'off'}: ${percent(outcome.delivered, outcome.generated)} delivered, ` +
        `${outcome.duplicates} duplicates, ${outcome.outOfOrder} out of order, ${outcome.drops} drops`,
    );
    outcomes.push(outcome);
  }
  return { date: new Date().toISOString(), config, outcomes };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(2)}%`;
}

/** The section of docs/performance.md. */
export function renderChurnSection(measurement: ChurnMeasurement): string {
  const { config } = measurement;
  const rows = measurement.outcomes.map(
    (o) =>
      `| ${o.recovery ? 'on (2 min window)' : 'off'} | ${o.generated} | **${percent(o.delivered, o.generated)}** | ` +
      `${o.completeClients} / ${config.clients} | ${o.duplicates} | ${o.outOfOrder} | ${o.drops} | ${o.recovered} | ${o.fresh} |`,
  );
  return [
    CHURN_BEGIN,
    '## Delivery under churn (connection state recovery)',
    '',
    `Measured ${measurement.date} by bench/recovery-churn.ts (\`npm run bench\`, or alone with ` +
      '`node --import tsx bench/recovery-churn.ts`) on this machine ' +
      `(${cpus().length} cores). ${config.clients} stock socket.io-client sockets over ` +
      `${config.transport === 'polling' ? 'HTTP long-polling' : 'WebSocket'} in one process, ` +
      `Parley's engine in another emitting numbered events to each at ${config.eventsPerSecond}/s; every ` +
      `client's transport closed every ${config.dropEverySeconds} s at its own phase for ${config.seconds} s ` +
      '(socket.io-client reconnects by itself, with its default delays of 1 s ± 50%), then ' +
      `${config.settleSeconds} s to settle. Delivered: distinct numbers received over numbers generated for the ` +
      'client while it was connected, held or away. A public benchmark of the same shape (10,000 clients) found ' +
      'Socket.IO at 84.55% without recovery and 100% with it.',
    '',
    '| recovery | events generated | delivered | clients complete | duplicates | out of order | drops | recovered reconnects | fresh reconnects |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    CHURN_END,
  ].join('\n');
}

/** `document` with its churn section replaced by `section`, or `section` added before the notes. */
export function withChurnSection(document: string, section: string, notesMarker: string): string {
  return withSection(document, section, { begin: CHURN_BEGIN, end: CHURN_END }, notesMarker);
}

/** The churn section of an existing document, if it has one. */
export function churnSectionOf(document: string): string | undefined {
  return sectionOf(document, { begin: CHURN_BEGIN, end: CHURN_END });
}

// Run alone: measure, print, and write into BENCH_OUTPUT if set.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error('bench/recovery-churn.ts: gave up after 10 minutes');
    children.killAll();
    process.exit(2);
  }, 10 * 60_000);
  deadline.unref();
  try {
    const section = renderChurnSection(
      await measureRecoveryChurn(children, churnConfigFromEnv(process.env['BENCH_QUICK'] === '1')),
    );
    console.log(`\n${section}\n`);
    const output = process.env['BENCH_OUTPUT'];
    if (output !== undefined && output !== '') {
      const previous = existsSync(output) ? readFileSync(output, 'utf8') : '';
      writeFileSync(output, withChurnSection(previous, section, NOTES_MARKER));
      console.log(`wrote ${output}`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
