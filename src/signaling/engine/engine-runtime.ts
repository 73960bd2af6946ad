/**
 * Everything one {@link ProtocolServer} shares among its sessions: options, clock, log, codec,
 * address accounting and the deadline queues. Created by the server and cleared by its
 * `close()`: no engine state lives at module level. It knows sessions and clients only through
 * the small interfaces below, so it imports none of them.
 */
import { AckDeadlines } from './ack-deadlines.js';
import type { EngineClock } from './clock.js';
import { AddressTable } from './address-table.js';
import { ConnectionStateRecovery, type RestorableSocket } from './connection-state-recovery.js';
import { ClientFaultLog } from './engine-log.js';
import { DeadlineQueue } from './deadline-queue.js';
import { EngineStats } from './engine-stats.js';
import type { ResolvedEngineOptions } from './engine-options.js';
import { PollingTombstones } from './polling-tombstones.js';
import { SocketIoCodec } from './socket-io-codec.js';

/** A session's heartbeat, as its deadlines see it. */
export interface HeartbeatTarget {
  /** `pingInterval` passed since the last pong (or the open). */
  pingDue(): void;
  /** `pingTimeout` passed since the ping went out. */
  pongOverdue(): void;
}

/** Something with one deadline of its own (an upgrade, a connect, an attachment, early packets). */
export interface DeadlineTarget {
  deadlinePassed(): void;
}

/** How long emits made inside `connect()` trail the CONNECT packet (see SocketIoSocket.acknowledged). */
const EARLY_PACKET_DELAY_MS = 15;

/** Shared state of one engine. */
export class EngineRuntime {
  readonly clock: EngineClock;
  readonly codec: SocketIoCodec;
  readonly addresses: AddressTable;
  readonly faults: ClientFaultLog;
  readonly pings: DeadlineQueue<HeartbeatTarget>;
  readonly pongs: DeadlineQueue<HeartbeatTarget>;
  readonly upgrades: DeadlineQueue<DeadlineTarget>;
  readonly connects: DeadlineQueue<DeadlineTarget>;
  readonly attachments: DeadlineQueue<DeadlineTarget>;
  readonly bodies: DeadlineQueue<DeadlineTarget>;
  readonly earlyPackets: DeadlineQueue<DeadlineTarget>;
  readonly acks: AckDeadlines;
  /** Counters for metrics. */
  readonly stats = new EngineStats();
  /** Polling sessions the server closed with no GET pending: their next GET gets `1`. */
  readonly tombstones: PollingTombstones;
  /** Connection state recovery: offsets and held sockets; null when it is off. */
  readonly recovery: ConnectionStateRecovery<RestorableSocket> | null;
  /** POST bodies being received now, server-wide. */
  bodiesInFlight = 0;
  /** The open packet's JSON minus the sid, per transport (computed once). */
  readonly openPacketTail: { readonly polling: string; readonly websocket: string };

  constructor(readonly options: ResolvedEngineOptions) {
    const clock = options.clock;
    const timeout = (delay: number) => new DeadlineQueue<DeadlineTarget>(delay, clock, passed);
    this.clock = clock;
    this.codec = new SocketIoCodec(options);
    this.addresses = new AddressTable(options, clock, this.stats);
    this.faults = new ClientFaultLog(options.log, () => clock.now());
    this.pings = new DeadlineQueue<HeartbeatTarget>(options.pingInterval, clock, (s) => s.pingDue());
    this.pongs = new DeadlineQueue<HeartbeatTarget>(options.pingTimeout, clock, (s) => s.pongOverdue());
    this.upgrades = timeout(options.upgradeTimeout);
    this.connects = timeout(options.connectTimeout);
    this.attachments = timeout(options.attachmentTimeout);
    this.bodies = timeout(options.bodyTimeout);
    this.earlyPackets = timeout(EARLY_PACKET_DELAY_MS);
    this.acks = new AckDeadlines(clock);
    const recovery = options.connectionStateRecovery;
    this.recovery = recovery === false ? null : new ConnectionStateRecovery(recovery, clock);
    this.tombstones = new PollingTombstones(options.pingInterval + options.pingTimeout, clock);
    const { pingInterval, pingTimeout, maxPayload } = options;
    const tail = `"pingInterval":${pingInterval},"pingTimeout":${pingTimeout},"maxPayload":${maxPayload}}`;
    this.openPacketTail = { polling: `"upgrades":["websocket"],${tail}`, websocket: `"upgrades":[],${tail}` };
  }

  /**
   * Stops every timer and forgets every address (after the sessions closed). Tombstones stay:
   * a polling client of a server that closed still gets its close packet while the app listens,
   * and they expire by themselves on a timer that never keeps the process alive.
   */
  clear(): void {
    for (const queue of [
      this.pings,
      this.pongs,
      this.upgrades,
      this.connects,
      this.attachments,
      this.bodies,
      this.earlyPackets,
    ]) {
      queue.clear();
    }
    this.acks.clear();
    this.addresses.clear();
    // Held sockets cannot be recovered once the server is gone: their handlers are told now.
    this.recovery?.store.clear();
  }
}

function passed(target: DeadlineTarget): void {
  target.deadlinePassed();
}
