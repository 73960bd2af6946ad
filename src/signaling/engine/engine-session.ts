/**
 * One Engine.IO session: its lifecycle snapshot, the one transport that carries it (and the
 * WebSocket probing an upgrade, if any), its heartbeat deadline and its Socket.IO client.
 *
 * Lifecycle events go through the session machine (src/machines/engine-session-machine.ts)
 * with memoized pure transitions; the actions it returns are executed through the typed record
 * `effects`. Messages do not: the hot path goes from the transport to the client directly.
 */
import type { Packet as EnginePacket } from 'engine.io-parser';
import type { SnapshotFrom } from 'xstate';
import {
  engineSessionMachine,
  type ClientFault,
  type CloseParams,
  type EngineCloseReason,
  type EngineSessionAction,
  type EngineSessionEvent,
  type TransportFailure,
} from '../../machines/engine-session-machine.js';
import { createTransitionTable } from './transition-table.js';
import type { Deadline } from './deadline-queue.js';
import type { DeadlineTarget, EngineRuntime, HeartbeatTarget } from './engine-runtime.js';
import type { DisconnectReason, NamespaceHandler } from './namespace-handler.js';
import { SocketIoClient, type ClientCarrier } from './socket-io-client.js';
import { isPollingSide, type ProbeTransport, type Transport, type TransportOwner } from './transport.js';

/** The snapshot of the session machine, all a session keeps of its lifecycle. */
export type EngineSessionSnapshot = SnapshotFrom<typeof engineSessionMachine>;

/** The session machine's transitions, computed once per (state, event) and shared by all sessions. */
const lifecycle = createTransitionTable(engineSessionMachine);

/** Where sessions live; a closed session asks to be forgotten. */
export interface SessionDirectory {
  forget(session: EngineSession): void;
}

/** Handshake facts of a session, copied out of its first request. */
export interface SessionHandshake {
  readonly query: URLSearchParams;
  readonly address: string;
  readonly origin: string;
}

/** The WebSocket probing an upgrade, with its deadline. */
interface Probe {
  readonly transport: ProbeTransport;
  deadline: Deadline | null;
}

/** Socket.IO's reason for a session that ended with the engine's `reason`. */
function disconnectReasonFor(reason: EngineCloseReason): DisconnectReason {
  switch (reason) {
    case 'payload too large':
    case 'slow consumer':
    case 'limit exceeded':
    case 'rate limited':
      return 'transport error';
    case 'connect timeout':
      return 'transport close';
    default:
      return reason;
  }
}

/** The machine's effects, as this engine implements them. */
const effects: { readonly [A in EngineSessionAction]: (session: EngineSession, params: unknown) => void } = {
  sendOpenPacket: (session) => session.sendOpenPacket(),
  schedulePing: (session) => session.schedulePing(),
  sendPing: (session) => session.sendPing(),
  holdProbe: (session) => session.holdProbe(),
  answerProbe: (session) => session.probeTransport?.answerProbe(),
  flushPollWithNoop: (session) => {
    const { transport } = session;
    if (isPollingSide(transport)) transport.releaseWithNoop();
  },
  switchToWebSocket: (session) => session.switchToWebSocket(),
  dropProbe: (session) => session.dropProbe(),
  closeSession: (session, params) => session.close((params as CloseParams).reason),
};

/** One Engine.IO session and the Socket.IO client it carries. */
export class EngineSession implements TransportOwner, HeartbeatTarget, ClientCarrier {
  snapshot: EngineSessionSnapshot = lifecycle.initial;
  readonly client: SocketIoClient;
  private probe: Probe | null = null;
  /** The heartbeat's one deadline: the next ping while resting, the pong after a ping. */
  private heartbeat: Deadline | null = null;
  /** Why the session is being closed for a fault, for the log line the close writes. */
  private faultDetail: string | undefined;

  constructor(
    private readonly runtime: EngineRuntime,
    private readonly directory: SessionDirectory,
    readonly id: string,
    private readonly handshake: SessionHandshake,
    /** The transport carrying the session. */
    public transport: Transport,
    namespaces: ReadonlyMap<string, NamespaceHandler>,
  ) {
    this.client = new SocketIoClient(runtime, this, namespaces);
  }

  get query(): URLSearchParams {
    return this.handshake.query;
  }

  get remoteAddress(): string {
    return this.handshake.address;
  }

  get origin(): string {
    return this.handshake.origin;
  }

  /** True until the session closed. */
  get isOpen(): boolean {
    return this.snapshot.status === 'active';
  }

  /** The WebSocket probing an upgrade, if any. */
  get probeTransport(): ProbeTransport | undefined {
    return this.probe?.transport;
  }

  /** Feeds a lifecycle event to the machine and executes the actions it returns. */
  send(event: EngineSessionEvent): void {
    const [next, actions] = lifecycle.next(this.snapshot, event);
    // Stored before the effects run: an effect may feed the machine the next event.
    this.snapshot = next;
    // Told before the effects too, so that an observer sees nested events in the order they happen.
    const { observer } = this.runtime.options;
    if (observer !== undefined) observer.sessionEvent(this.id, event, next);
    for (const action of actions) effects[action.type as EngineSessionAction](this, action.params);
  }

  /** True while polling carries the session and no upgrade is under way. */
  canProbe(): boolean {
    return this.snapshot.matches({ open: { transport: 'polling' } });
  }

  /** A WebSocket opened to upgrade this session. */
  acceptProbe(transport: ProbeTransport): void {
    this.probe = { transport, deadline: null };
    this.send({ type: 'transport.upgradeStart' });
  }

  // ---- Effects ----------------------------------------------------------------------------

  sendOpenPacket(): void {
    const tail = this.runtime.openPacketTail[this.transport.name];
    this.transport.sendOpen(`0{"sid":"${this.id}",${tail}`);
  }

  schedulePing(): void {
    this.heartbeat?.cancel();
    this.heartbeat = this.runtime.pings.schedule(this);
  }

  sendPing(): void {
    this.heartbeat?.cancel();
    this.heartbeat = this.runtime.pongs.schedule(this);
    this.transport.sendPing();
    if (this.runtime.recovery !== null) this.client.pingWritten();
  }

  /** Holds the probe beside polling until it upgrades, fails or runs out of time. */
  holdProbe(): void {
    const probe = this.probe;
    if (probe === null) return;
    const timer: DeadlineTarget = {
      deadlinePassed: () => {
        if (this.probe === probe) this.send({ type: 'upgrade.timeout' });
      },
    };
    probe.deadline = this.runtime.upgrades.schedule(timer);
  }

  switchToWebSocket(): void {
    const probe = this.probe;
    const polling = this.transport;
    if (probe === null || !isPollingSide(polling)) return;
    this.probe = null;
    probe.deadline?.cancel();
    this.transport = probe.transport;
    // Packets queued for polling go out over the WebSocket, in order, exactly once.
    probe.transport.takeOver(polling.handOver());
  }

  dropProbe(): void {
    const probe = this.probe;
    this.probe = null;
    if (probe === null) return;
    probe.deadline?.cancel();
    probe.transport.drop();
  }

  close(reason: EngineCloseReason): void {
    const { runtime } = this;
    this.directory.forget(this);
    this.heartbeat?.cancel();
    this.heartbeat = null;
    this.client.close(disconnectReasonFor(reason));
    this.dropProbe();
    this.transport.close(reason);
    const fields = { sid: this.id, address: this.remoteAddress, transport: this.transport.name, reason };
    // A client closed for a fault gets one warn line, rate-limited server-wide; any other close an info line.
    if (this.faultDetail !== undefined)
      runtime.faults.report({ ...fields, detail: this.faultDetail }, 'session closed');
    else runtime.options.log.info(fields, 'session closed');
    runtime.stats.countClose(reason);
    runtime.options.onSessionClosed?.(this.id, reason);
  }

  // ---- HeartbeatTarget --------------------------------------------------------------------

  pingDue(): void {
    this.heartbeat = null;
    this.send({ type: 'heartbeat.due' });
  }

  pongOverdue(): void {
    this.heartbeat = null;
    this.send({ type: 'heartbeat.timeout' });
  }

  /**
   * True when a ping's pong is overdue though its timer has not fired yet (a busy event loop):
   * a request from the client then finds the session already dead, as engine.io's would.
   */
  isPongOverdue(): boolean {
    const heartbeat = this.heartbeat;
    return (
      heartbeat !== null &&
      !this.snapshot.matches({ open: { heartbeat: 'resting' } }) &&
      this.runtime.clock.now() >= heartbeat.dueAt
    );
  }

  // ---- TransportOwner ---------------------------------------------------------------------

  receiveMessage(data: string | Buffer): void {
    if (this.isOpen) this.client.receive(data);
  }

  receivePacket(packet: EnginePacket): void {
    if (!this.isOpen) return;
    switch (packet.type) {
      case 'message':
        return this.client.receive((packet.data as string | Buffer | undefined) ?? '');
      case 'pong': {
        // Counted only while a delivered ping awaits it (see the machine's heartbeat region).
        const counted = this.snapshot.matches({ open: { heartbeat: 'awaitingPong' } });
        this.send({ type: 'client.pong' });
        if (counted && this.runtime.recovery !== null) this.client.pongReceived();
        return;
      }
      case 'close':
        return this.send({ type: 'client.close' });
      case 'error':
        return this.fault('parse error', 'undecodable Engine.IO packet');
      default:
        // ping, noop and upgrade on the carrying transport mean nothing here (engine.io ignores them).
        return;
    }
  }

  receiveProbeFrame(transport: Transport, text: string): void {
    if (this.probe?.transport !== transport) return;
    if (text === '2probe') {
      this.send({ type: 'transport.upgradeProbe' });
      return;
    }
    if (text === '5') this.send({ type: 'transport.upgrade' });
    // Anything else, or an upgrade before the probe, fails the upgrade as engine.io does.
    if (this.probe?.transport === transport) this.send({ type: 'transport.upgradeFail' });
  }

  isCarriedBy(transport: Transport): boolean {
    return this.transport === transport;
  }

  pingDelivered(): void {
    this.send({ type: 'transport.pingDelivered' });
  }

  transportClosed(transport: Transport, failure: TransportFailure): void {
    if (transport === this.transport) this.send({ type: 'transport.close', reason: failure });
    else if (this.probe?.transport === transport) this.send({ type: 'transport.upgradeFail' });
  }

  fault(fault: ClientFault, detail: string): void {
    if (!this.isOpen) return;
    this.faultDetail = detail;
    this.send({ type: 'client.fault', reason: fault });
  }

  // ---- ClientCarrier ----------------------------------------------------------------------

  writeMessageText(text: string): void {
    if (this.isOpen) this.transport.sendMessage(text);
  }

  writeMessageBinary(data: Buffer): void {
    if (this.isOpen) this.transport.sendBinary(data);
  }

  connectTimedOut(): void {
    this.send({ type: 'connect.timeout' });
  }
}
