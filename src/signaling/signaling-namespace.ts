/**
 * The signaling app: the Socket.IO namespace `/` that puts each client in a room, relays its
 * `data` to the other peer, and hands out roles and ICE servers. Room decisions are the room
 * machine's (via RoomRegistry); this file validates input at the socket boundary and carries
 * out the machine's effects on sockets. docs/protocol.md describes the wire contract,
 * docs/security.md the room secrets and the TURN credential limit.
 */
import {
  DEFAULT_TURN_RATE,
  issueIceServers,
  issueStunServers,
  issuesTurnCredentials,
  type TurnConfig,
} from './turn-credentials.js';
import { AddressRateLimiter, type RateLimit } from './address-rate-limiter.js';
import { RoomRegistry, roomDisplayName, roomKey } from './room-registry.js';
import type {
  Ack,
  ConnectRefusal,
  DisconnectReason,
  NamespaceHandler,
  ServerSocket,
} from './engine/namespace-handler.js';
import { parseHandshake, parseSignal } from '../protocol/signaling-events.js';
import { SignalingError } from '../protocol/signaling-error.js';
import type { SignalingInspector } from './inspector/inspection-hub.js';

/** How to build a {@link SignalingNamespace}. */
export interface SignalingOptions {
  readonly turn: TurnConfig;
  /** TURN credentials one client address may get; default {@link DEFAULT_TURN_RATE}. */
  readonly turnRate?: RateLimit;
  /** Wall-clock time in ms (credential expiry, the TURN rate limit); default `Date.now`. */
  readonly now?: () => number;
  /** The live state inspector (`--inspect`); without it rooms are not observed and `inspect` is unknown. */
  readonly inspector?: SignalingInspector;
}

/** What the app keeps on each admitted socket: its room's public name and its registry key. */
interface Membership {
  readonly room: string;
  readonly key: string;
  /**
   * With the inspector only: what this peer knows that its inspection events must never show
   * (its room secret, the TURN credentials it was issued).
   */
  readonly secrets?: string[];
}

/** What the signaling app counts for operators (read by src/signaling/metrics.ts). */
export interface SignalingStats {
  /** `data` messages relayed to the other peer, and their bytes as sent. */
  relayedMessages: number;
  relayedBytes: number;
  /** `data` messages not relayed, by why. */
  readonly dropped: { noPeer: number; badPayload: number; rateLimited: number };
  /** TURN credentials issued, and refused for the per-address rate. */
  turnCredentials: number;
  turnRefused: number;
}

/** The signaling namespace handler. One instance serves every room of a server. */
export class SignalingNamespace implements NamespaceHandler {
  readonly rooms: RoomRegistry;
  readonly stats: SignalingStats = {
    relayedMessages: 0,
    relayedBytes: 0,
    dropped: { noPeer: 0, badPayload: 0, rateLimited: 0 },
    turnCredentials: 0,
    turnRefused: 0,
  };
  readonly #sockets = new Map<string, ServerSocket>();
  readonly #turn: TurnConfig;
  readonly #turnLimit: AddressRateLimiter;
  readonly #now: () => number;
  readonly #inspector: SignalingInspector | undefined;

  constructor(options: SignalingOptions) {
    this.#turn = options.turn;
    this.#now = options.now ?? Date.now;
    this.#inspector = options.inspector;
    this.#turnLimit = new AddressRateLimiter(options.turnRate ?? DEFAULT_TURN_RATE, this.#now);
    this.rooms = new RoomRegistry(
      {
        notifyReady: (peerId) => this.#sockets.get(peerId)?.emit('ready'),
        notifyPeerLeft: (peerId) => this.#sockets.get(peerId)?.emit('peer-left'),
      },
      options.inspector?.rooms,
    );
  }

  connect(socket: ServerSocket): ConnectRefusal | undefined {
    let request;
    try {
      request = parseHandshake(socket.handshake.auth, socket.handshake.query);
    } catch (error) {
      return refusalFor(error);
    }
    // A wrong or missing secret leads to another room, not to a refusal: nothing tells a
    // guesser whether the room it named exists.
    const key = roomKey(request.room, request.secret);
    const outcome = this.rooms.join(key, socket.id);
    if (!outcome.admitted) return refusalFor(SignalingError.roomFull(request.room));
    const secrets = this.#inspector === undefined ? undefined : request.secret === undefined ? [] : [request.secret];
    socket.data = { room: request.room, key, secrets } satisfies Membership;
    this.#sockets.set(socket.id, socket);
    return undefined;
  }

  connected(socket: ServerSocket): void {
    const { room, key } = socket.data as Membership;
    // The CONNECT is acknowledged only now, so the welcome the machine decided on is sent now.
    const member = this.rooms.member(key, socket.id);
    if (member === undefined) return;
    socket.emit('role', { room, role: member.role });
    if (this.#inspector !== undefined) socket.emit('inspector', { enabled: true });
    this.#sendIceServers(socket);
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
      case 'inspect':
        if (this.#inspector === undefined) break;
        this.#takeInspection(socket, this.#inspector, args, encoded);
        ack?.();
        return;
      default:
        break;
    }
    socket.emit('error', SignalingError.unknownEvent(name).toPayload());
  }

  rateLimited(socket: ServerSocket, name: string): void {
    this.stats.dropped.rateLimited += 1;
    socket.emit('error', SignalingError.rateLimited(name).toPayload());
  }

  disconnect(socket: ServerSocket, _reason: DisconnectReason): void {
    if (!this.#sockets.delete(socket.id)) return;
    this.rooms.leave((socket.data as Membership).key, socket.id);
    if (this.#inspector !== undefined) this.#inspector.peerLeft(socket.id);
  }

  /** A peer's inspection batch, taken from members of a room only. */
  #takeInspection(
    socket: ServerSocket,
    inspector: SignalingInspector,
    args: unknown[],
    encoded: string | undefined,
  ): void {
    const membership = socket.data as Membership | undefined;
    const refusal =
      membership === undefined || this.rooms.member(membership.key, socket.id) === undefined
        ? SignalingError.inspectRefused('this socket is not a peer of a room')
        : inspector.publishPeerBatch(
            { socketId: socket.id, room: roomDisplayName(membership.key), secrets: membership.secrets ?? [] },
            args[0],
            // The packet's text bounds the batch's JSON; without it (an ack id), measure the batch.
            encoded?.length ?? JSON.stringify(args[0] ?? null).length,
          );
    if (refusal !== undefined) socket.emit('error', refusal.toPayload());
  }

  /** ICE servers with TURN credentials, unless this client's address had too many lately. */
  #sendIceServers(socket: ServerSocket): void {
    if (!issuesTurnCredentials(this.#turn)) {
      socket.emit('ice-servers', issueIceServers(this.#turn, socket.id, this.#now()));
      return;
    }
    if (this.#turnLimit.take(socket.handshake.remoteAddress)) {
      this.stats.turnCredentials += 1;
      const payload = issueIceServers(this.#turn, socket.id, this.#now());
      const { secrets } = socket.data as Membership;
      if (secrets !== undefined) {
        for (const { username, credential } of payload.iceServers) {
          if (username !== undefined) secrets.push(username);
          if (credential !== undefined) secrets.push(credential);
        }
      }
      socket.emit('ice-servers', payload);
      return;
    }
    this.stats.turnRefused += 1;
    socket.emit('ice-servers', issueStunServers(this.#turn));
    socket.emit('error', SignalingError.turnRateLimited().toPayload());
  }

  #relay(socket: ServerSocket, args: unknown[], encoded: string | undefined): void {
    let signal;
    try {
      signal = parseSignal(args[0]);
    } catch (error) {
      this.stats.dropped.badPayload += 1;
      socket.emit('error', (error as SignalingError).toPayload());
      return;
    }
    const peerId = this.rooms.peerOf((socket.data as Membership).key, socket.id);
    const peer = peerId === undefined ? undefined : this.#sockets.get(peerId);
    if (peer === undefined) {
      this.stats.dropped.noPeer += 1;
      socket.emit('error', SignalingError.noPeer().toPayload());
      return;
    }
    this.stats.relayedMessages += 1;
    if (encoded !== undefined && args.length === 1) {
      // The packet is exactly `data` + payload: forward its text, no re-encoding.
      this.stats.relayedBytes += encoded.length;
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
