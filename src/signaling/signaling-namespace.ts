/**
 * The signaling app: the Socket.IO namespace `/` that puts each client in a room, relays its
 * `data` to the other peer, and hands out roles and ICE servers. Room decisions are the room
 * machine's (via RoomRegistry); this file validates input at the socket boundary and carries
 * out the machine's effects on sockets. docs/protocol.md describes the wire contract.
 */
import { issueIceServers, type TurnConfig } from './turn-credentials.js';
import { RoomRegistry } from './room-registry.js';
import type {
  Ack,
  ConnectRefusal,
  DisconnectReason,
  NamespaceHandler,
  ServerSocket,
} from './engine/namespace-handler.js';
import { parseSignal, roomFromHandshake, type PeerRole } from '../protocol/signaling-events.js';
import { SignalingError } from '../protocol/signaling-error.js';

/** What the app keeps on each socket: its room, and its role once admitted. */
interface Membership {
  readonly room: string;
  role?: PeerRole;
}

/** The signaling namespace handler. One instance serves every room of a server. */
export class SignalingNamespace implements NamespaceHandler {
  readonly rooms: RoomRegistry;
  readonly #sockets = new Map<string, ServerSocket>();
  readonly #turn: TurnConfig;
  /** Set by the machine's `refuseRoomFull` effect during a join, read right after it. */
  #refusal: SignalingError | undefined;

  constructor(turn: TurnConfig) {
    this.#turn = turn;
    this.rooms = new RoomRegistry({
      // The newcomer's CONNECT is not acknowledged yet: remember the role, deliver in `connected`.
      welcomePeer: (peerId, role) => {
        const membership = this.#sockets.get(peerId)?.data as Membership | undefined;
        if (membership) membership.role = role;
      },
      notifyReady: (peerId) => this.#sockets.get(peerId)?.emit('ready'),
      refuseRoomFull: (_peerId, room) => {
        this.#refusal = SignalingError.roomFull(room);
      },
      notifyPeerLeft: (peerId) => this.#sockets.get(peerId)?.emit('peer-left'),
    });
  }

  connect(socket: ServerSocket): ConnectRefusal | undefined {
    let room: string;
    try {
      room = roomFromHandshake(socket.handshake.auth, socket.handshake.query);
    } catch (error) {
      return refusalFor(error);
    }
    const membership: Membership = { room };
    socket.data = membership;
    this.#sockets.set(socket.id, socket);
    this.#refusal = undefined;
    this.rooms.join(room, socket.id);
    if (this.#refusal === undefined) return undefined;
    this.#sockets.delete(socket.id);
    return refusalFor(this.#refusal);
  }

  connected(socket: ServerSocket): void {
    const { room, role } = socket.data as Membership;
    if (role === undefined) return;
    socket.emit('role', { room, role });
    socket.emit('ice-servers', issueIceServers(this.#turn, socket.id));
  }

  event(socket: ServerSocket, name: string, args: unknown[], ack: Ack | undefined, encoded: string | undefined): void {
    switch (name) {
      case 'data':
        this.#relay(socket, args, encoded);
        ack?.();
        return;
      case 'leave':
        ack?.();
        socket.disconnect();
        return;
      default:
        socket.emit('error', SignalingError.unknownEvent(name).toPayload());
    }
  }

  disconnect(socket: ServerSocket, _reason: DisconnectReason): void {
    if (this.#sockets.delete(socket.id)) this.rooms.leave((socket.data as Membership).room, socket.id);
  }

  #relay(socket: ServerSocket, args: unknown[], encoded: string | undefined): void {
    let signal;
    try {
      signal = parseSignal(args[0]);
    } catch (error) {
      socket.emit('error', (error as SignalingError).toPayload());
      return;
    }
    const peerId = this.rooms.peerOf((socket.data as Membership).room, socket.id);
    const peer = peerId === undefined ? undefined : this.#sockets.get(peerId);
    if (peer === undefined) {
      socket.emit('error', SignalingError.noPeer().toPayload());
    } else if (encoded !== undefined && args.length === 1) {
      // The packet is exactly `data` + payload: forward its text, no re-encoding.
      peer.sendEncoded(encoded);
    } else {
      peer.emit('data', signal);
    }
  }
}

function refusalFor(error: unknown): ConnectRefusal {
  if (!(error instanceof SignalingError)) throw error;
  return { message: error.message, data: error.toPayload() };
}
