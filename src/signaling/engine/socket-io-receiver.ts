/**
 * The Socket.IO side of an incoming Engine.IO message: decode, then CONNECT, DISCONNECT, EVENT
 * and ACK (the client's answer to a server `emitWithAck`) per namespace. Text packets take the
 * shared-decoder fast path; a binary packet gets a Decoder of its own until its attachments
 * have arrived.
 */
import { PacketType, type Packet } from 'socket.io-parser';
import type { EngineSession } from './engine-session.js';
import type { Handshake } from './namespace-handler.js';
import {
  createBinaryDecoder,
  decodeTextPacket,
  encodeSocketIoPacket,
  isBinaryPacketText,
  namespaceOfRefusedConnect,
} from './socket-io-codec.js';
import { SocketIoSocket } from './socket-io-socket.js';

/** Handles one Engine.IO message (packet text or binary attachment) of `session`. */
export function receiveSocketIoMessage(session: EngineSession, data: string | Buffer): void {
  if (typeof data !== 'string' || session.binaryDecoder !== null || isBinaryPacketText(data)) {
    receiveBinaryPart(session, data);
    return;
  }
  let packet: Packet;
  try {
    packet = decodeTextPacket(data);
  } catch {
    if (data.charCodeAt(0) === 48 /* '0' */) refuseMalformedConnect(session, data);
    else session.send({ type: 'protocol.error' });
    return;
  }
  handlePacket(session, packet, data);
}

/** A BINARY_EVENT/BINARY_ACK header or one of its attachments. */
function receiveBinaryPart(session: EngineSession, data: string | Buffer): void {
  let decoder = session.binaryDecoder;
  if (decoder === null) {
    if (typeof data !== 'string') {
      // An attachment nobody announced.
      session.send({ type: 'protocol.error' });
      return;
    }
    const created = createBinaryDecoder();
    decoder = created;
    session.binaryDecoder = created;
    created.on('decoded', (packet: Packet) => {
      if (session.binaryDecoder === created) session.binaryDecoder = null;
      handlePacket(session, packet, undefined);
    });
  }
  try {
    decoder.add(data);
  } catch {
    session.send({ type: 'protocol.error' });
  }
}

function handlePacket(session: EngineSession, packet: Packet, text: string | undefined): void {
  switch (packet.type) {
    case PacketType.CONNECT:
      return connectSocket(session, packet.nsp, packet.data);
    case PacketType.DISCONNECT: {
      const socket = session.sockets?.get(packet.nsp);
      if (socket === undefined) return;
      session.releaseSocket(socket);
      socket.left('client namespace disconnect');
      return;
    }
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT: {
      const socket = session.sockets?.get(packet.nsp);
      // socket.io ignores events for a namespace the client has not joined.
      if (socket === undefined) return;
      const args = packet.data as unknown[];
      const name = args.shift();
      const id = packet.id;
      const ack = id === undefined ? undefined : socket.createAck(id);
      const encoded = packet.type === PacketType.EVENT && id === undefined ? text : undefined;
      socket.handler.event(socket, typeof name === 'string' ? name : String(name), args, ack, encoded);
      return;
    }
    case PacketType.ACK:
    case PacketType.BINARY_ACK: {
      // The answer to a server emitWithAck; for a namespace the client left, nobody waits.
      const socket = session.sockets?.get(packet.nsp);
      if (socket !== undefined && packet.id !== undefined) socket.receiveAck(packet.id, packet.data as unknown[]);
      return;
    }
    default:
      // CONNECT_ERROR from a client means nothing.
      return;
  }
}

function connectSocket(session: EngineSession, nsp: string, auth: unknown): void {
  const handler = session.context.namespaces.get(nsp);
  if (handler === undefined) {
    refuseConnect(session, nsp, { message: 'Invalid namespace' });
    return;
  }
  if (session.sockets?.has(nsp)) return;
  const handshake: Handshake = {
    auth: auth ?? {},
    query: session.query,
    remoteAddress: session.remoteAddress,
    origin: session.origin,
  };
  const socket = new SocketIoSocket(session, nsp, handler, handshake);
  const refusal = socket.runConnectHandler();
  if (refusal !== undefined) {
    refuseConnect(session, nsp, refusal.data === undefined ? { message: refusal.message } : refusal);
    return;
  }
  if (!session.isOpen) return;
  session.connectTicket = 0;
  (session.sockets ??= new Map()).set(nsp, socket);
  const [connect] = encodeSocketIoPacket({ type: PacketType.CONNECT, nsp, data: { sid: socket.id } });
  session.writeMessageText(connect);
  socket.acknowledged();
}

function refuseConnect(session: EngineSession, nsp: string, data: { message: string; data?: unknown }): void {
  const [text] = encodeSocketIoPacket({ type: PacketType.CONNECT_ERROR, nsp, data });
  session.writeMessageText(text);
}

/** A CONNECT the decoder refused (its auth is not an object): CONNECT_ERROR, not a close. */
function refuseMalformedConnect(session: EngineSession, text: string): void {
  const nsp = namespaceOfRefusedConnect(text);
  if (nsp === undefined) {
    session.send({ type: 'protocol.error' });
    return;
  }
  if (!session.context.namespaces.has(nsp)) {
    refuseConnect(session, nsp, { message: 'Invalid namespace' });
    return;
  }
  // A stable code beside socket.io's message, so programs need not match on text.
  const message = 'Invalid handshake: the CONNECT auth payload must be a JSON object';
  refuseConnect(session, nsp, { message, data: { code: 'bad-handshake', message } });
}
