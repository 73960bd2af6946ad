/**
 * A WebSocket as a session's transport, or as the probe of an upgrade from polling. uWS keeps
 * one of these in each socket's user data and nothing else: the transport knows its socket,
 * the handshake facts copied out of the upgrade request, and (once open) the session it serves.
 *
 * Bounds: uWS's send buffer holds at most `maxBufferedBytes`; a send that does not fit is
 * dropped by uWS, and the session is cut as a slow consumer (a lost packet would corrupt the
 * stream). Frames over `maxPayload` make uWS close the socket (reported as 'payload too large').
 */
import { encodePacket, decodePacket, type Packet as EnginePacket } from 'engine.io-parser';
import type { WebSocket } from 'uWebSockets.js';
import type { EngineCloseReason, TransportFailure } from '../../machines/engine-session-machine.js';
import { PING, type ProbeTransport, type TransportOwner } from './transport.js';

/** uWebSockets.js per-socket user data: only its transport. */
export interface WebSocketData {
  readonly transport: WebSocketTransport;
}

/** Handshake facts copied out of the upgrade request (a new session needs them). */
export interface WebSocketHandshake {
  readonly query: URLSearchParams;
  readonly address: string;
  readonly origin: string;
}

/** What uWS reports (with code 1006) when it cut a client off for a frame over maxPayloadLength. */
const TOO_BIG_MESSAGE = 'Received too big message';

const SEND_DROPPED = 2;

const textDecoder = new TextDecoder();

/** WebSocket close code and text for a session the server ends. */
function closeFrameFor(reason: EngineCloseReason): [number, string] {
  switch (reason) {
    case 'parse error':
      return [1002, reason];
    case 'payload too large':
      return [1009, reason];
    case 'slow consumer':
    case 'limit exceeded':
    case 'rate limited':
      return [1008, reason];
    case 'server shutting down':
      return [1001, reason];
    default:
      return [1000, reason];
  }
}

/** Encodes one engine.io packet for a transport that carries binary natively. */
function encodeForWebSocket(packet: EnginePacket): string | Buffer {
  let encoded: string | Buffer = '';
  encodePacket(packet, true, (data) => {
    encoded = data as string | Buffer;
  });
  return encoded;
}

/** One WebSocket connection of the engine. */
export class WebSocketTransport implements ProbeTransport {
  // On the prototype, not in every instance.
  get name(): 'websocket' {
    return 'websocket';
  }

  private ws: WebSocket<WebSocketData> | null = null;
  private owner: TransportOwner | null = null;

  constructor(
    readonly handshake: WebSocketHandshake,
    /** The id of the session this socket asked to upgrade (`sid` in its query), if any. */
    readonly upgradeOf: string | null,
  ) {}

  /** The socket opened; from now on frames flow. */
  opened(ws: WebSocket<WebSocketData>): void {
    this.ws = ws;
  }

  /** Binds the session this transport carries or probes for. */
  attach(owner: TransportOwner): void {
    this.owner = owner;
  }

  /** Closes a socket that will carry nothing (a refused probe). */
  refuse(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.end(1008, 'upgrade refused');
  }

  // ---- Outbound -------------------------------------------------------------------------

  sendMessage(text: string): void {
    this.write('4' + text, false);
  }

  sendBinary(data: Buffer): void {
    this.write(data, true);
  }

  sendOpen(packet: string): void {
    this.write(packet, false);
  }

  sendPing(): void {
    if (this.write(PING, false)) this.owner?.pingDelivered();
  }

  answerProbe(): void {
    this.ws?.send('3probe', false);
  }

  takeOver(packets: readonly EnginePacket[]): void {
    const ws = this.ws;
    if (ws === null) return;
    ws.cork(() => {
      for (const packet of packets) this.write(encodeForWebSocket(packet), packet.data instanceof Buffer);
    });
  }

  drop(): void {
    const ws = this.ws;
    this.ws = null;
    this.owner = null;
    ws?.end(1000, 'upgrade failed');
  }

  close(reason: EngineCloseReason): void {
    const ws = this.ws;
    this.ws = null;
    this.owner = null;
    if (ws === null) return;
    const [code, text] = closeFrameFor(reason);
    ws.end(code, text);
  }

  /** Sends a frame; false (and the session cut) when uWS dropped it for backpressure. */
  private write(data: string | Buffer, isBinary: boolean): boolean {
    const ws = this.ws;
    if (ws === null) return false;
    if (ws.send(data, isBinary) !== SEND_DROPPED) return true;
    this.owner?.fault('slow consumer', `send buffer of a WebSocket over ${ws.getBufferedAmount()} bytes`);
    return false;
  }

  // ---- Inbound (called by the uWS behavior) ---------------------------------------------

  receiveFrame(frame: ArrayBuffer, isBinary: boolean): void {
    const owner = this.owner;
    if (owner === null) return;
    if (!owner.isCarriedBy(this)) {
      owner.receiveProbeFrame(this, isBinary ? '' : textDecoder.decode(frame));
      return;
    }
    if (isBinary) {
      // uWS reuses the frame's memory after this callback: copy the attachment out.
      owner.receiveMessage(Buffer.from(new Uint8Array(frame)));
      return;
    }
    const text = textDecoder.decode(frame);
    // The relay hot path: a Socket.IO message, handled without an engine.io packet object.
    if (text.charCodeAt(0) === 52 /* '4' */) owner.receiveMessage(text.substring(1));
    else owner.receivePacket(decodePacket(text));
  }

  /** The socket closed (either side); the owner hears why unless the server ended it. */
  closedBy(code: number, message: ArrayBuffer): void {
    const owner = this.owner;
    this.ws = null;
    this.owner = null;
    if (owner === null) return;
    if (code === 1009 || (code === 1006 && Buffer.from(message).toString() === TOO_BIG_MESSAGE)) {
      owner.fault('payload too large', 'WebSocket frame over maxPayload');
      return;
    }
    owner.transportClosed(this, failureOf(code));
  }
}

/** Why a WebSocket went away, from its close code. */
function failureOf(code: number): TransportFailure {
  return code === 1000 || code === 1001 || code === 1005 ? 'transport close' : 'transport error';
}
