/**
 * The seam between a session and the connection(s) carrying it, as engine.io draws it: one
 * `Transport` per kind (polling, WebSocket) behind one interface. A session owns exactly one
 * transport; an upgrade is a second transport (a WebSocket) probed beside the first.
 */
import type { Packet as EnginePacket } from 'engine.io-parser';
import type {
  ClientFault,
  EngineCloseReason,
  EngineTransportName,
  TransportFailure,
} from '../../machines/engine-session-machine.js';

/** The engine.io packets the engine writes often, encoded once. */
export const PING = '2';
export const NOOP = '6';
export const CLOSE = '1';

/** What a transport reports to the session that owns it. */
export interface TransportOwner {
  /** An Engine.IO message from the carrying transport: Socket.IO packet text or an attachment (the hot path). */
  receiveMessage(data: string | Buffer): void;
  /** Any other Engine.IO packet from the carrying transport. */
  receivePacket(packet: EnginePacket): void;
  /** A text frame from a WebSocket probing an upgrade (`2probe`, `5`). */
  receiveProbeFrame(transport: Transport, text: string): void;
  /** A frame from a WebSocket that is neither the carrier nor the probe of this session. */
  isCarriedBy(transport: Transport): boolean;
  /** A ping written on the carrying transport can now be read by the client. */
  pingDelivered(): void;
  /** The transport's connection went away underneath the session. */
  transportClosed(transport: Transport, failure: TransportFailure): void;
  /** The client broke the protocol or a limit on this transport. */
  fault(fault: ClientFault, detail: string): void;
}

/** One way of carrying a session's packets. */
export interface Transport {
  readonly name: EngineTransportName;
  /** Writes or queues an Engine.IO message holding Socket.IO packet text ('4' + text). */
  sendMessage(text: string): void;
  /** Writes or queues an Engine.IO binary message (a Socket.IO attachment). */
  sendBinary(data: Buffer): void;
  /** Writes or queues the open packet. */
  sendOpen(packet: string): void;
  /** Writes or queues a ping; the owner hears `pingDelivered()` once the client can read it. */
  sendPing(): void;
  /** Ends the transport's connection after its session closed with `reason`. */
  close(reason: EngineCloseReason): void;
}

/** A WebSocket probing an upgrade, as the session it would carry sees it. */
export interface ProbeTransport extends Transport {
  /** Answers `2probe` with `3probe`. */
  answerProbe(): void;
  /** Takes over: writes `packets` (what polling had queued) in order, then carries the session. */
  takeOver(packets: readonly EnginePacket[]): void;
  /** Ends the probe; the session carries on over polling. */
  drop(): void;
}

/** A polling transport, as the session sees it during an upgrade. */
export interface PollingSide extends Transport {
  /** Answers a pending GET with a noop so the client can pause polling. */
  releaseWithNoop(): void;
  /** Hands over what is queued for the next GET and ends the pending GET with a noop. */
  handOver(): EnginePacket[];
}

/** True for a transport that can hand its queue over to a WebSocket. */
export function isPollingSide(transport: Transport): transport is PollingSide {
  return transport.name === 'polling';
}
