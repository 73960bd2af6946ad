/**
 * Prometheus metrics of one Parley server (prom-client), served at `/metrics`. Hot paths only
 * bump plain numbers (EngineStats, SignalingStats); the metrics read them when scraped, so an
 * unscraped server pays nothing. docs/operations.md describes every metric and what to alert on.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineCloseReason } from '../machines/engine-session-machine.js';
import type { ProtocolServer } from './engine/protocol-server.js';
import type { RefusalKind } from './engine/engine-stats.js';
import type { SignalingNamespace } from './signaling-namespace.js';

/** What the metrics read. */
export interface MetricSources {
  readonly engine: ProtocolServer;
  readonly signaling: SignalingNamespace;
  /** Open files of the process and whether it accepts connections (the fd guard). */
  readonly files?: () => { readonly open: number; readonly limit: number; readonly accepting: boolean };
}

/**
 * A counter whose total lives elsewhere (a plain number the hot path bumps): on each scrape it
 * adds what the number grew by since the last one.
 */
function mirroredCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<[Partial<Record<L, string>>, number]>,
): Counter<L> {
  const seen = new Map<string, number>();
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, total] of read()) {
        const key = JSON.stringify(labels);
        const grown = total - (seen.get(key) ?? 0);
        seen.set(key, total);
        // Adding 0 still makes the series appear, so dashboards see it before the first event.
        this.inc(labels, Math.max(0, grown));
      }
    },
  });
}

/** Builds the registry of one server's metrics. */
export function createMetrics(sources: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const { engine, signaling } = sources;

  new Gauge({
    name: 'parley_connections',
    help: 'WebSocket connections and pending long-poll requests held open.',
    registers: [registry],
    collect() {
      this.set(engine.connectionCount);
    },
  });
  new Gauge({
    name: 'parley_sessions',
    help: 'Open Engine.IO sessions, by the transport carrying them (upgrading: polling with a WebSocket probing).',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      for (const [transport, count] of Object.entries(engine.sessionsByTransport())) this.set({ transport }, count);
    },
  });
  new Gauge({
    name: 'parley_rooms',
    help: 'Rooms, by the state of their room machine.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { waiting, ready } = signaling.rooms.countByState();
      this.set({ state: 'waiting' }, waiting);
      this.set({ state: 'ready' }, ready);
    },
  });
  mirroredCounter(
    registry,
    'parley_relayed_messages_total',
    'Signaling messages relayed to the other peer.',
    [],
    () => [[{}, signaling.stats.relayedMessages]],
  );
  mirroredCounter(
    registry,
    'parley_relayed_bytes_total',
    'Bytes of signaling messages relayed verbatim to the other peer.',
    [],
    () => [[{}, signaling.stats.relayedBytes]],
  );
  mirroredCounter(
    registry,
    'parley_dropped_messages_total',
    'Signaling messages not relayed, by reason: no peer in the room, an invalid payload, over the message rate.',
    ['reason'],
    () => [
      [{ reason: 'no peer' }, signaling.stats.dropped.noPeer],
      [{ reason: 'bad payload' }, signaling.stats.dropped.badPayload],
      [{ reason: 'rate limited' }, engine.stats.droppedMessages],
    ],
  );
  mirroredCounter(
    registry,
    'parley_session_closes_total',
    'Sessions closed, by reason (slow consumer, limit exceeded, rate limited, parse error, ping timeout, ...).',
    ['reason'],
    () => [...engine.stats.closed].map(([reason, count]: [EngineCloseReason, number]) => [{ reason }, count]),
  );
  mirroredCounter(
    registry,
    'parley_refusals_total',
    'Requests refused before they became a session: origin, address limit, server limit, concurrent bodies.',
    ['kind'],
    () => [...engine.stats.refused].map(([kind, count]: [RefusalKind, number]) => [{ kind }, count]),
  );
  mirroredCounter(
    registry,
    'parley_turn_credentials_total',
    'TURN credentials issued, and refused for the per-address rate.',
    ['outcome'],
    () => [
      [{ outcome: 'issued' }, signaling.stats.turnCredentials],
      [{ outcome: 'rate limited' }, signaling.stats.turnRefused],
    ],
  );
  mirroredCounter(
    registry,
    'parley_recovery_total',
    'Connection state recovery: sockets held after their connection dropped, recovered by their client within the window, and expired.',
    ['outcome'],
    () => [
      [{ outcome: 'held' }, engine.stats.recovery.held],
      [{ outcome: 'recovered' }, engine.stats.recovery.recovered],
      [{ outcome: 'expired' }, engine.stats.recovery.expired],
    ],
  );
  const files = sources.files;
  if (files !== undefined) {
    new Gauge({
      name: 'parley_open_files',
      help: 'Open file descriptors of the process.',
      registers: [registry],
      collect() {
        this.set(files().open);
      },
    });
    new Gauge({
      name: 'parley_open_files_limit',
      help: 'The open-file limit of the process.',
      registers: [registry],
      collect() {
        this.set(files().limit);
      },
    });
    new Gauge({
      name: 'parley_accepting',
      help: '1 while the server accepts new connections, 0 while the fd guard has paused it near the open-file limit.',
      registers: [registry],
      collect() {
        this.set(files().accepting ? 1 : 0);
      },
    });
  }
  return registry;
}
