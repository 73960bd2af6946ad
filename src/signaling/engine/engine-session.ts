/**
 * One Engine.IO session: its lifecycle snapshot, its transports and its Socket.IO sockets.
 *
 * Lifecycle events go through the session machine with xstate's pure `transition()`; the
 * actions it returns are executed here by `type`. Messages do not: the hot path only checks
 * the snapshot's status and which WebSocket (if any) carries the session.
 */
import type { SnapshotFrom } from 'xstate';
import { createTransitionTable } from '../../machines/transition-table.js';
import {
  decodePacket,
  decodePayload,
  encodePacket,
  encodePayload,
  type Packet as EnginePacket,
} from 'engine.io-parser';
import type { Decoder } from 'socket.io-parser';
import type { HttpResponse, WebSocket } from 'uWebSockets.js';
import {
  engineSessionMachine,
  type CloseParams,
  type EngineCloseReason,
  type EngineSessionEvent,
} from '../../machines/engine-session-machine.js';
import type { EngineContext } from './engine-context.js';
import { monotonicNow } from './deadline-queue.js';
import type { DisconnectReason } from './namespace-handler.js';
import { endResponse, writeResponseHead, type ResponseStyle } from './response-style.js';
import { receiveSocketIoMessage } from './socket-io-receiver.js';
import type { SocketCarrier, SocketIoSocket } from './socket-io-socket.js';

/** The snapshot of the session machine, all a session keeps of its lifecycle. */
export type EngineSessionSnapshot = SnapshotFrom<typeof engineSessionMachine>;

/** uWebSockets.js per-socket user data: what the socket is to its session. */
export interface WebSocketData {
  session: EngineSession | null;
  /** 'main' carries a session; 'probe' is upgrading one; 'reject' gets closed on open. */
  role: 'main' | 'probe' | 'reject';
  /** Handshake facts copied out of the upgrade request (a direct WebSocket session needs them). */
  readonly query: URLSearchParams;
  readonly remoteAddress: string;
  readonly origin: string;
}

/** The session machine's transitions, computed once per (state, event) and shared by all sessions. */
const lifecycle = createTransitionTable(engineSessionMachine);

/** The engine.io packets the engine writes often, encoded once. */
const PING = '2';
const NOOP = '6';
const CLOSE = '1';

/** Encodes one engine.io packet for a transport that carries binary natively (WebSocket). */
function encodeForWebSocket(packet: EnginePacket): string | Buffer {
  let encoded: string | Buffer = '';
  encodePacket(packet, true, (data) => {
    encoded = data as string | Buffer;
  });
  return encoded;
}

/** Socket.IO's reason for a session that ended with the engine's `reason`. */
function disconnectReasonFor(reason: EngineCloseReason): DisconnectReason {
  switch (reason) {
    case 'payload too large':
    case 'slow consumer':
      return 'transport error';
    case 'connect timeout':
      return 'transport close';
    default:
      return reason;
  }
}

/** WebSocket close code and text for a session the server ends. */
function webSocketCloseFor(reason: EngineCloseReason): [number, string] {
  switch (reason) {
    case 'parse error':
      return [1002, reason];
    case 'payload too large':
      return [1009, reason];
    case 'server shutting down':
      return [1001, reason];
    default:
      return [1000, reason];
  }
}

/**
 * Reasons for which the server ends a session whose client it believes alive. A polling client
 * with no GET pending then gets the close packet on its next GET (see PollingTombstones), as
 * engine.io's `socket.close()` does. For the other reasons the client is gone or misbehaved
 * (ping timeout, a transport failure, a parse error) and engine.io answers its next request
 * 400 "Session ID unknown"; so does this engine.
 */
const CLOSES_ANNOUNCED_TO_POLLING: ReadonlySet<EngineCloseReason> = new Set<EngineCloseReason>([
  'connect timeout',
  'forced close',
  'server shutting down',
]);

const textDecoder = new TextDecoder();

/** One Engine.IO session and the Socket.IO sockets it carries. */
export class EngineSession implements SocketCarrier {
  snapshot: EngineSessionSnapshot = lifecycle.initial;
  /** The WebSocket carrying the session, once it runs over one. */
  ws: WebSocket<WebSocketData> | null = null;
  /** The WebSocket probing an upgrade while polling still carries the session. */
  probe: WebSocket<WebSocketData> | null = null;
  /** The pending long-poll GET, if the client is waiting for packets. */
  poll: HttpResponse | null = null;
  /** How the pending GET wants its response (CORS, connection close). */
  pollStyle: ResponseStyle | null = null;
  /** Packets waiting for the next GET. */
  pollBuffer: EnginePacket[] = [];
  /** A POST body is being received (engine.io refuses overlapping POSTs). */
  posting = false;
  /** Sockets by namespace; created on the first CONNECT. */
  sockets: Map<string, SocketIoSocket> | null = null;
  /** Collects one binary packet's attachments; exists only while one is in flight. */
  binaryDecoder: Decoder | null = null;
  // Tickets of this session's live entries in the deadline queues (0: none). See DeadlineQueue.
  pingTicket = 0;
  pongTicket = 0;
  pongDueAt = 0;
  connectTicket = 0;
  upgradeTicket = 0;

  constructor(
    readonly id: string,
    readonly context: EngineContext,
    readonly query: URLSearchParams,
    readonly remoteAddress: string,
    readonly origin: string,
  ) {}

  /** True until the session closed. */
  get isOpen(): boolean {
    return this.snapshot.status === 'active';
  }

  /** Feeds a lifecycle event to the machine and executes the actions it returns. */
  send(event: EngineSessionEvent): void {
    const [next, actions] = lifecycle.next(this.snapshot, event);
    this.snapshot = next;
    for (const action of actions) this.execute(action.type, action.params as CloseParams | undefined);
  }

  private execute(type: string, params: CloseParams | undefined): void {
    switch (type) {
      case 'sendOpenPacket':
        return this.sendOpenPacket();
      case 'startTimers':
        this.pingTicket = this.context.pingQueue.schedule(this);
        this.connectTicket = this.context.connectQueue.schedule(this);
        return;
      case 'holdProbe':
        this.upgradeTicket = this.context.upgradeQueue.schedule(this);
        return;
      case 'answerProbe':
        this.probe?.send('3probe', false);
        return;
      case 'flushPollWithNoop':
        if (this.poll !== null && this.pollBuffer.length === 0) this.respondToPoll(NOOP);
        return;
      case 'switchToWebSocket':
        return this.switchToWebSocket();
      case 'dropProbe':
        return this.dropProbe();
      case 'closeSession':
        return this.close(params!.reason);
    }
  }

  private sendOpenPacket(): void {
    const transport = this.ws !== null ? 'websocket' : 'polling';
    const open = `0{"sid":"${this.id}",${this.context.openPacketTail[transport]}`;
    if (this.ws !== null) this.ws.send(open, false);
    else this.pollBuffer.push(decodePacket(open));
    this.flushPoll();
  }

  // ---- Outbound -------------------------------------------------------------------------

  /** Sends an engine.io message holding `text` (the hot path: '4' + text, no re-encoding). */
  writeMessageText(text: string): void {
    const ws = this.ws;
    if (ws !== null) {
      if (ws.send('4' + text, false) === 2) this.onSendDropped();
      return;
    }
    if (!this.isOpen) return;
    this.pollBuffer.push({ type: 'message', data: text });
    this.flushPoll();
  }

  /** Sends an engine.io binary message (a Socket.IO attachment). */
  writeMessageBinary(data: Buffer): void {
    const ws = this.ws;
    if (ws !== null) {
      if (ws.send(data, true) === 2) this.onSendDropped();
      return;
    }
    if (!this.isOpen) return;
    this.pollBuffer.push({ type: 'message', data });
    this.flushPoll();
  }

  /** Sends a ping and starts waiting for its pong; `dueAt` is when the ping was due. */
  sendPing(dueAt: number): void {
    this.pingTicket = 0;
    this.pongDueAt = dueAt + this.context.pongQueue.delay;
    this.pongTicket = this.context.pongQueue.schedule(this, dueAt);
    if (this.ws !== null) {
      if (this.ws.send(PING, false) === 2) this.onSendDropped();
    } else {
      this.pollBuffer.push({ type: 'ping' });
      this.flushPoll();
    }
  }

  /**
   * uWS dropped a frame because the client reads too slowly (maxBackpressure reached). A lost
   * packet would corrupt the stream (an attachment, an ack), so the session ends instead.
   */
  private onSendDropped(): void {
    this.send({ type: 'transport.close', reason: 'slow consumer' });
  }

  /** Answers the pending GET with everything buffered, if both exist. */
  flushPoll(): void {
    if (this.poll === null || this.pollBuffer.length === 0) return;
    const packets = this.pollBuffer;
    this.pollBuffer = [];
    encodePayload(packets, (payload) => this.respondToPoll(payload));
  }

  /** Ends the pending GET with `payload`. */
  respondToPoll(payload: string): void {
    const res = this.poll;
    const style = this.pollStyle;
    if (res === null || style === null) return;
    this.poll = null;
    this.pollStyle = null;
    res.cork(() => {
      writeResponseHead(res, '200 OK', style);
      res.writeHeader('Content-Type', 'text/plain; charset=UTF-8');
      endResponse(res, style, payload);
    });
  }

  // ---- Inbound --------------------------------------------------------------------------

  /** A frame from the WebSocket carrying the session. */
  receiveWebSocketFrame(frame: ArrayBuffer, isBinary: boolean): void {
    if (isBinary) {
      // uWS reuses the frame's memory after this callback: copy the attachment out.
      this.receiveMessage(Buffer.from(new Uint8Array(frame)));
      return;
    }
    const text = textDecoder.decode(frame);
    // The relay hot path: a Socket.IO message, handled without an engine.io packet object.
    if (text.charCodeAt(0) === 52 /* '4' */) {
      this.receiveMessage(text.substring(1));
      return;
    }
    this.receivePacket(decodePacket(text));
  }

  /** A frame from the WebSocket probing an upgrade. */
  receiveProbeFrame(frame: ArrayBuffer, isBinary: boolean): void {
    const text = isBinary ? '' : textDecoder.decode(frame);
    if (text === '2probe') {
      this.send({ type: 'transport.upgradeProbe' });
      return;
    }
    if (text === '5') this.send({ type: 'transport.upgrade' });
    // Anything else, or an upgrade before the probe, fails the upgrade as engine.io does.
    if (this.probe !== null) this.send({ type: 'transport.upgradeFail' });
  }

  /** A POST body: engine.io packets separated by \x1e. */
  receivePayload(payload: string): void {
    const packets = decodePayload(payload);
    for (const packet of packets) {
      if (!this.isOpen) return;
      this.receivePacket(packet);
    }
  }

  private receivePacket(packet: EnginePacket): void {
    switch (packet.type) {
      case 'message':
        return this.receiveMessage(packet.data as string | Buffer);
      case 'pong':
        return this.receivePong();
      case 'close':
        return this.send({ type: 'client.close' });
      case 'error':
        return this.send({ type: 'protocol.error' });
      default:
        // ping, noop and upgrade on the carrying transport mean nothing here (engine.io ignores them).
        return;
    }
  }

  private receiveMessage(data: string | Buffer): void {
    if (!this.isOpen) return;
    receiveSocketIoMessage(this, data);
  }

  private receivePong(): void {
    if (this.pongTicket === 0) return;
    this.pongTicket = 0;
    this.pongDueAt = 0;
    this.pingTicket = this.context.pingQueue.schedule(this);
  }

  /** True when the pong deadline passed though its timer has not fired yet. */
  isPongOverdue(now: number = monotonicNow()): boolean {
    return this.pongDueAt !== 0 && now >= this.pongDueAt;
  }

  // ---- Sockets --------------------------------------------------------------------------

  releaseSocket(socket: SocketIoSocket): void {
    if (this.sockets?.get(socket.nsp) === socket) this.sockets.delete(socket.nsp);
    socket.connected = false;
  }

  // ---- Upgrade and close ----------------------------------------------------------------

  private switchToWebSocket(): void {
    const ws = this.probe!;
    this.probe = null;
    this.upgradeTicket = 0;
    ws.getUserData().role = 'main';
    this.ws = ws;
    // Packets buffered for polling go out over the WebSocket, in order, exactly once.
    const buffered = this.pollBuffer;
    this.pollBuffer = [];
    ws.cork(() => {
      for (const packet of buffered) ws.send(encodeForWebSocket(packet), packet.data instanceof Buffer);
    });
    this.respondToPoll(NOOP);
  }

  private dropProbe(): void {
    this.upgradeTicket = 0;
    const probe = this.probe;
    this.probe = null;
    if (probe === null) return;
    probe.getUserData().session = null;
    probe.end(1000, 'upgrade failed');
  }

  private close(reason: EngineCloseReason): void {
    const { context } = this;
    context.sessions.delete(this.id);
    this.pingTicket = this.pongTicket = this.pongDueAt = this.connectTicket = this.upgradeTicket = 0;
    this.binaryDecoder?.destroy();
    this.binaryDecoder = null;
    const sockets = this.sockets;
    this.sockets = null;
    if (sockets !== null) {
      const disconnectReason = disconnectReasonFor(reason);
      for (const socket of sockets.values()) socket.left(disconnectReason);
    }
    this.dropProbe();
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      ws.getUserData().session = null;
      const [code, text] = webSocketCloseFor(reason);
      ws.end(code, text);
    }
    this.pollBuffer = [];
    if (this.poll !== null) {
      // A client's close packet releases its pending GET with a noop, anything else with close.
      this.respondToPoll(reason === 'transport close' ? NOOP : CLOSE);
    } else if (ws === null && CLOSES_ANNOUNCED_TO_POLLING.has(reason)) {
      context.tombstones.add(this.id);
    }
    context.options.onSessionClosed?.(this.id, reason);
  }
}
