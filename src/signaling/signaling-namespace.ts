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
import { RoomRegistry, roomDisplayName, roomKey, type JoinOutcome, type RoomSnapshot } from './room-registry.js';
import { isPeerIdentity, newPeerIdentity, ResumeTokens, type ResumeGrant } from './resume-token.js';
import { randomBytes } from 'node:crypto';
import type {
  Ack,
  ConnectRefusal,
  DisconnectReason,
  NamespaceHandler,
  ServerSocket,
} from './engine/namespace-handler.js';
import { parseHandshake, parseSignal, type JoinRequest, type PeerRole } from '../protocol/signaling-events.js';
import { SignalingError, type SignalingErrorPayload } from '../protocol/signaling-error.js';
import type { SignalingInspector } from './inspector/inspection-hub.js';
import { isHeld, otherPeer, type roomMachine, type RoomEvent, type RoomPeer } from '../machines/room-machine.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { ClusterEffect } from './cluster/redis-room-store.js';
import { ClusterError } from './cluster/cluster-error.js';
import type { EngineLog } from './engine/engine-log.js';

/** The cluster a node's rooms live in with `--redis` (docs/scaling.md, "Wiring"). */
export type RoomCluster = ClusterNode<typeof roomMachine>;

/** How to build a {@link SignalingNamespace}. */
export interface SignalingOptions {
  readonly turn: TurnConfig;
  /** TURN credentials one client address may get; default {@link DEFAULT_TURN_RATE}. */
  readonly turnRate?: RateLimit;
  /** Wall-clock time in ms (credential expiry, the TURN rate limit); default `Date.now`. */
  readonly now?: () => number;
  /** The live state inspector (`--inspect`); without it rooms are not observed and `inspect` is unknown. */
  readonly inspector?: SignalingInspector;
  /**
   * The key of resume tokens (`--resume-secret`): a process given the same one accepts the
   * tokens of its predecessor after a restart. Default: random, so tokens die with the process.
   */
  readonly resumeSecret?: string;
  /**
   * How long a seat re-formed from a partner's resume token waits for its peer after a restart,
   * in ms; the same as the engine's recovery window by default ({@link DEFAULT_HOLD_WINDOW_MS}).
   */
  readonly holdWindowMs?: number;
  /** How long an issued resume token stays valid, in ms; default 24 hours. */
  readonly resumeTokenTtlMs?: number;
  /**
   * With `--redis`: rooms live in Redis, shared with every node, and are stepped through this
   * node (joins are then asynchronous). Without it the in-memory {@link RoomRegistry} decides,
   * synchronously.
   */
  readonly cluster?: RoomCluster;
  /** Where cluster failures are reported (a relay or a leave Redis did not take); default nowhere. */
  readonly log?: EngineLog;
}

/**
 * How far into their lifetime a peer's TURN credentials are replaced with fresh ones. coturn
 * checks a credential's expiry only when an allocation is created, and a browser creates one
 * whenever it gathers: for the offer of a peer that waited alone longer than the lifetime, or an
 * ICE restart late in a long call. Without fresh credentials those find no relay.
 */
export const TURN_REFRESH_FRACTION = 0.8;

/** The longest wait between two looks for credentials due for replacement. */
const TURN_REFRESH_SWEEP_MS = 60_000;

/** How long a seat is held for a peer that is not connected, by default: 2 minutes. */
export const DEFAULT_HOLD_WINDOW_MS = 120_000;

/** How an admitted socket came in, which decides what `connected` tells it. */
type Arrival =
  /** A fresh join: `role`, then the call starts from scratch. */
  | 'joined'
  /** A resume token gave it its old seat back: `role` with `resumed`, the same call goes on. */
  | 'resumed'
  /** The engine recovered its session: it missed nothing, it is told nothing. */
  | 'recovered';

/** What the app keeps on each admitted socket: its room's public name, its registry key, its identity. */
export interface Membership {
  readonly room: string;
  readonly key: string;
  /** Its identity in the room: the socket's own id on a fresh join, its token's on a resume. */
  readonly peerId: string;
  arrival: Arrival;
  /** The partner its resume token named, when it resumed. */
  readonly tokenPartner: string | undefined;
  /**
   * With the inspector only: what this peer knows that its inspection events must never show
   * (its room secret, the TURN credentials it was issued).
   */
  readonly secrets?: string[];
  /** When this peer was last issued TURN credentials (`now()` ms); unset while it has none. */
  turnIssuedAt?: number;
  /** With a cluster only: the seat as this node last read it from Redis (see {@link ClusterSeat}). */
  seat?: ClusterSeat;
  /** With a cluster only: relays waiting for the partner to be looked up, kept in order. */
  relays?: Promise<void>;
  /**
   * With a cluster only: effects that reached this peer before its welcome was sent (another
   * node's join stepped the room while this one's CONNECT was still being answered), in order.
   */
  early?: ClusterEffect[];
}

/** A CONNECT's handshake, read: see `SignalingNamespace.#connectRequest`. */
interface ConnectRequest {
  readonly request: JoinRequest;
  /** The room's registry key (its name and secret). */
  readonly key: string;
  /** The seat a valid resume token gives back. */
  readonly grant: ResumeGrant | undefined;
  readonly peerId: string;
}

/**
 * What a node knows of a local peer's seat when the room lives in Redis: read from the room's
 * snapshot after each step this node makes, and after each effect it is told of. Enough to
 * answer `connected`, relay, and issue resume tokens without a Redis round trip each time.
 */
interface ClusterSeat {
  readonly role: PeerRole;
  /** The other member, whatever its presence. */
  readonly partner: RoomPeer | undefined;
  /** The other member while the call is up (the room is full): whom `data` goes to. */
  readonly relayTo: string | undefined;
  /** Whether this peer is the room's first member (the one that waited). */
  readonly first: boolean;
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
  /** The socket of each peer identity (a held socket while its seat is away). */
  readonly #sockets = new Map<string, ServerSocket>();
  /** Expiry timers of seats expected after a restart, by room key and identity. */
  readonly #expected = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #tokens: ResumeTokens;
  readonly #holdWindowMs: number;
  /** The server is draining: sockets go because the process ends, rooms are left as they are. */
  #draining = false;
  readonly #turn: TurnConfig;
  readonly #turnLimit: AddressRateLimiter;
  readonly #now: () => number;
  readonly #inspector: SignalingInspector | undefined;
  readonly #cluster: RoomCluster | undefined;
  /** With a cluster: the room steps and seat changes in flight for sockets that went (see {@link settleClusterWrites}). */
  readonly #clusterWrites = new Set<Promise<unknown>>();
  /** With a cluster: peers whose join is being decided here, and the effects that reached them meanwhile. */
  readonly #early = new Map<string, ClusterEffect[]>();
  readonly #log: EngineLog | undefined;
  /** The sweep that replaces TURN credentials before they expire; only when TURN is configured. */
  readonly #turnRefresh: ReturnType<typeof setInterval> | undefined;

  constructor(options: SignalingOptions) {
    this.#cluster = options.cluster;
    this.#log = options.log;
    this.#turn = options.turn;
    this.#now = options.now ?? Date.now;
    this.#inspector = options.inspector;
    this.#turnLimit = new AddressRateLimiter(options.turnRate ?? DEFAULT_TURN_RATE, this.#now);
    this.#tokens = new ResumeTokens(options.resumeSecret ?? randomBytes(32), {
      ttlMs: options.resumeTokenTtlMs,
      now: this.#now,
    });
    this.#holdWindowMs = options.holdWindowMs ?? DEFAULT_HOLD_WINDOW_MS;
    this.rooms = new RoomRegistry(
      {
        // An away peer's socket is held by the engine: what is sent to it is replayed when it is back.
        notifyReady: (peerId) => this.#tell(peerId, 'ready'),
        notifyPeerLeft: (peerId) => this.#tell(peerId, 'peer-left'),
      },
      options.inspector?.rooms,
    );
    if (issuesTurnCredentials(this.#turn)) {
      // A tenth of the lifetime at most, so that a refresh is never late by more than that.
      const every = Math.max(100, Math.min(TURN_REFRESH_SWEEP_MS, (this.#turn.turnTtl * 1000) / 10));
      this.#turnRefresh = setInterval(() => this.#refreshTurnCredentials(), every);
      this.#turnRefresh.unref();
    }
  }

  /** The room identity of the peer on socket `socketId`, if it is a member of a room (for tests and tools). */
  peerIdOf(socketId: string): string | undefined {
    for (const [peerId, socket] of this.#sockets) if (socket.id === socketId) return peerId;
    return undefined;
  }

  connect(socket: ServerSocket): ConnectRefusal | undefined | Promise<ConnectRefusal | undefined> {
    if (this.#cluster !== undefined) return this.#connectClustered(socket, this.#cluster);
    if (socket.recovered && this.#recover(socket)) return undefined;
    const asked = this.#connectRequest(socket);
    if ('refusal' in asked) return asked.refusal;
    const { request, key, grant, peerId } = asked;
    const previous = grant === undefined ? undefined : this.#sockets.get(grant.peerId);
    const outcome: JoinOutcome =
      grant === undefined
        ? this.rooms.join(key, peerId)
        : this.rooms.resume(key, grant.peerId, grant.role, grant.partnerId);
    if (!outcome.admitted) return refusalFor(SignalingError.roomFull(request.room, this.rooms.view(key)?.held));
    if (previous !== undefined && previous !== socket) this.#replace(previous);
    const secrets = this.#inspector === undefined ? undefined : request.secret === undefined ? [] : [request.secret];
    socket.data = {
      room: request.room,
      key,
      peerId,
      arrival: outcome.resumed ? 'resumed' : 'joined',
      tokenPartner: grant?.partnerId,
      secrets,
    } satisfies Membership;
    this.#sockets.set(peerId, socket);
    this.#settleExpected(key, peerId);
    return undefined;
  }

  /**
   * What a CONNECT asks for: the room (its key), the seat its resume token grants, and the peer
   * identity it gets; or the refusal of a handshake that breaks the contract. A wrong or missing
   * secret leads to another room, not to a refusal: nothing tells a guesser whether the room it
   * named exists. A token of another room, forged, altered or expired does not verify: a fresh
   * join.
   */
  #connectRequest(socket: ServerSocket): ConnectRequest | { readonly refusal: ConnectRefusal } {
    let request;
    try {
      request = parseHandshake(socket.handshake.auth, socket.handshake.query);
    } catch (error) {
      return { refusal: refusalFor(error) };
    }
    const key = roomKey(request.room, request.secret);
    const grant = request.resume === undefined ? undefined : this.#tokens.verify(key, request.resume);
    const peerId = grant?.peerId ?? (isPeerIdentity(socket.id) ? socket.id : newPeerIdentity());
    return { request, key, grant, peerId };
  }

  connected(socket: ServerSocket): void {
    const membership = socket.data as Membership;
    const { room, key, peerId, arrival } = membership;
    if (this.#sockets.get(peerId) !== socket) return;
    if (arrival === 'recovered') {
      // The engine replayed what the peer missed: its call goes on as if nothing happened. Only
      // its inspection publisher, which stops on every disconnect, is asked again.
      if (this.#inspector !== undefined) socket.emit('inspector', { enabled: true });
      return;
    }
    // The CONNECT is acknowledged only now, so the welcome the machine decided on is sent now.
    const member = membership.seat ?? this.rooms.member(key, peerId);
    if (member === undefined) return;
    socket.emit(
      'role',
      arrival === 'resumed' ? { room, role: member.role, resumed: true } : { room, role: member.role },
    );
    if (this.#inspector !== undefined) socket.emit('inspector', { enabled: true });
    this.#sendIceServers(socket);
    this.#sendResumeToken(peerId);
    if (arrival === 'resumed') {
      if (membership.seat !== undefined) this.#resyncClustered(socket, membership, membership.seat);
      else this.#resync(socket, membership);
    }
    if (membership.early !== undefined && this.#cluster !== undefined) {
      const early = membership.early;
      membership.early = undefined;
      for (const effect of early) this.#runClusterEffect(socket, membership, effect, this.#cluster);
    }
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

  disconnect(socket: ServerSocket, reason: DisconnectReason, held = false): void {
    const membership = socket.data as Membership | undefined;
    if (membership === undefined || this.#sockets.get(membership.peerId) !== socket) return;
    if (reason === 'server shutting down') this.#draining = true;
    if (this.#cluster !== undefined) {
      // A node that stops holds its peers' seats (away) for them to resume on another node; the
      // server awaits these steps before it leaves the cluster (docs/scaling.md, "Graceful stop").
      const away = held || reason === 'server shutting down';
      if (away) this.#stepQuietly(this.#cluster, membership.key, { type: 'room.drop', peerId: membership.peerId });
      else this.#releaseClustered(socket, membership, this.#cluster);
      return;
    }
    // Draining: the next process takes the peers back with their tokens. Telling the other peer
    // `peer-left` now would make it drop a call that is about to resume.
    if (this.#draining) return;
    if (held) {
      this.rooms.drop(membership.key, membership.peerId);
      return;
    }
    this.#release(socket, membership);
  }

  /**
   * With a cluster: the peer's client recovered its session on another node, which took its seat
   * over (src/signaling/cluster/cluster-sessions.ts). Forgotten here; the seat is not released.
   */
  moved(socket: ServerSocket): void {
    const membership = socket.data as Membership | undefined;
    if (membership === undefined || this.#sockets.get(membership.peerId) !== socket) return;
    this.#sockets.delete(membership.peerId);
    if (this.#inspector !== undefined) this.#inspector.peerLeft(socket.id);
    // This node's record of the seat only: the peer's location is the new node's now.
    this.#cluster?.unseat(membership.peerId).catch((error: unknown) => {
      this.#warnCluster('could not forget a moved seat', membership.peerId, error);
    });
  }

  expired(socket: ServerSocket): void {
    const membership = socket.data as Membership | undefined;
    if (membership === undefined || this.#sockets.get(membership.peerId) !== socket || this.#draining) return;
    if (this.#cluster !== undefined) this.#releaseClustered(socket, membership, this.#cluster);
    else this.#release(socket, membership);
  }

  /**
   * The server is stopping: from now on sockets go because the process ends. Their seats are
   * left as they are (in memory: the next process re-forms them from resume tokens; with a
   * cluster: held away, see `disconnect`), and a held socket that expires now keeps its seat too.
   */
  stopping(): void {
    this.#draining = true;
    clearInterval(this.#turnRefresh);
  }

  /**
   * With a cluster: waits until the Redis writes of sockets that went (drops, leaves) are done, at
   * most `timeoutMs`. A stopping server calls it before closing its Redis connections, so that
   * none is cut off half-way. Resolves with how many were still in flight when the time ran out.
   */
  async settleClusterWrites(timeoutMs: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    // Writes started while waiting (a leave's unseat after its step) are waited for too.
    while (this.#clusterWrites.size > 0) {
      const settled = Promise.allSettled([...this.#clusterWrites]).then(() => true);
      if (!(await Promise.race([settled, deadline.then(() => false)]))) break;
    }
    clearTimeout(timer);
    return this.#clusterWrites.size;
  }

  /** Keeps `write` in {@link #clusterWrites} until it settles. */
  #trackClusterWrite(write: Promise<unknown>): void {
    this.#clusterWrites.add(write);
    void write.finally(() => this.#clusterWrites.delete(write)).catch(() => {});
  }

  /** A held socket came back: its seat, if it still has one, is its own again. */
  #recover(socket: ServerSocket): boolean {
    const membership = socket.data as Membership | undefined;
    if (membership === undefined || this.#sockets.get(membership.peerId) !== socket) return false;
    if (this.rooms.member(membership.key, membership.peerId) === undefined) return false;
    membership.arrival = 'recovered';
    this.rooms.back(membership.key, membership.peerId);
    return true;
  }

  /** The seat of `socket`'s peer is given up: it left, or its held session expired. */
  #release(socket: ServerSocket, membership: Membership): void {
    this.#sockets.delete(membership.peerId);
    this.rooms.leave(membership.key, membership.peerId);
    if (this.#inspector !== undefined) this.#inspector.peerLeft(socket.id);
  }

  /** Another connection resumed this peer's seat: the old one is closed and forgotten. */
  #replace(previous: ServerSocket): void {
    const membership = previous.data as Membership;
    this.#sockets.delete(membership.peerId);
    if (this.#inspector !== undefined) this.#inspector.peerLeft(previous.id);
    previous.disconnect();
  }

  /** Sends `event` to the peer with identity `peerId`, and a token naming its call as it now is. */
  #tell(peerId: string, event: 'ready' | 'peer-left'): void {
    const socket = this.#sockets.get(peerId);
    if (socket === undefined) return;
    socket.emit(event);
    this.#sendResumeToken(peerId);
  }

  /** A fresh resume token for `peerId`, naming the member it shares its room with, if any. */
  #sendResumeToken(peerId: string): void {
    const socket = this.#sockets.get(peerId);
    if (socket === undefined) return;
    const { key, secrets, seat } = socket.data as Membership;
    const member = seat ?? this.rooms.member(key, peerId);
    if (member === undefined) return;
    const token = this.#tokens.issue(key, {
      peerId,
      role: member.role,
      partnerId: seat !== undefined ? seat.partner?.id : this.rooms.partnerOf(key, peerId)?.id,
    });
    secrets?.push(token);
    socket.emit('resume-token', { token });
  }

  /**
   * A peer resumed a seat it still had in this process (its old connection was not recovered):
   * what was sent to the old connection is gone, so it is told how its call changed meanwhile.
   */
  #resync(socket: ServerSocket, { key, peerId, tokenPartner }: Membership): void {
    const partner = this.rooms.partnerOf(key, peerId);
    if (tokenPartner !== undefined && partner?.id !== tokenPartner) socket.emit('peer-left');
    const waitedFor = this.rooms.view(key)?.peers[0]?.id === peerId;
    if (partner !== undefined && partner.id !== tokenPartner && waitedFor) socket.emit('ready');
  }

  /**
   * After a resume: a seat the room now expects (the returner's partner) is released if nobody
   * takes it within the window; a seat just taken back is no longer expected.
   */
  #settleExpected(key: string, peerId: string): void {
    const own = `${key}\u0000${peerId}`;
    const timer = this.#expected.get(own);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#expected.delete(own);
    }
    const partner = this.rooms.partnerOf(key, peerId);
    if (partner?.presence !== 'expected') return;
    const expected = `${key}\u0000${partner.id}`;
    if (this.#expected.has(expected)) return;
    const expiry = setTimeout(() => {
      this.#expected.delete(expected);
      if (this.rooms.partnerOf(key, peerId)?.presence === 'expected') this.rooms.leave(key, partner.id);
    }, this.#holdWindowMs);
    expiry.unref?.();
    this.#expected.set(expected, expiry);
  }

  /** With a cluster: whether peer `peerId` has its socket (connected or held) on this node. */
  hostsPeer(peerId: string): boolean {
    // A newcomer's own effects (its welcome) are decided while it connects here: they stay here.
    return this.#sockets.has(peerId) || this.#early.has(peerId);
  }

  /**
   * With a cluster: carries out a room machine effect for a peer on this node, decided here or
   * on another node. The newcomer's own effects (welcome, refusal) are answered by its CONNECT.
   */
  runClusterEffect(effect: ClusterEffect, key: string): void {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    const { peerId } = (effect.params ?? {}) as { peerId?: string };
    if (peerId === undefined) return;
    const socket = this.#sockets.get(peerId);
    if (socket === undefined) {
      this.#early.get(peerId)?.push(effect);
      return;
    }
    const membership = socket.data as Membership | undefined;
    if (membership === undefined) {
      // Still connecting here: kept until its welcome is sent (see `connected`).
      this.#early.get(peerId)?.push(effect);
      return;
    }
    if (membership.key !== key || membership.seat === undefined) return;
    if (membership.early !== undefined) {
      membership.early.push(effect);
      return;
    }
    this.#runClusterEffect(socket, membership, effect, cluster);
  }

  #runClusterEffect(socket: ServerSocket, membership: Membership, effect: ClusterEffect, cluster: RoomCluster): void {
    const { peerId } = membership;
    if (membership.seat === undefined) return;
    switch (effect.type) {
      case 'notifyReady':
        socket.emit('ready');
        // The newcomer's identity is in the room, not in the effect: read it, then the token names it.
        void this.#refreshSeat(cluster, membership).then(() => this.#sendResumeToken(peerId));
        return;
      case 'notifyPeerLeft':
        membership.seat = { ...membership.seat, partner: undefined, relayTo: undefined, first: true };
        socket.emit('peer-left');
        this.#sendResumeToken(peerId);
        return;
      default:
        return;
    }
  }

  /** With a cluster: a `data` packet another node relayed to local peer `peerId`. */
  deliverRelayed(peerId: string, text: string): void {
    const peer = this.#sockets.get(peerId);
    if (peer === undefined) return;
    peer.sendEncoded(text);
  }

  /**
   * With a cluster, after this node was evicted (taken for dead, or Redis restarted empty): the
   * seats of its peers may be gone, so each is taken again with `room.resume`, as a peer with a
   * resume token would (the two members of a room re-form it from their two nodes).
   */
  async reseatAll(): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    for (const socket of [...this.#sockets.values()]) {
      const membership = socket.data as Membership;
      const { seat, key, peerId } = membership;
      if (seat === undefined) continue;
      try {
        const step = await cluster.step(key, {
          type: 'room.resume',
          peerId,
          role: seat.role,
          partnerId: seat.partner?.id,
        });
        if (seatIn(step.snapshot, peerId) === undefined) continue;
        await cluster.seat(peerId, key);
        if (!socket.connected) await cluster.step(key, { type: 'room.drop', peerId });
      } catch (error) {
        this.#log?.warn({ peerId, error: (error as Error).message }, 'could not take a seat back after an eviction');
      }
    }
  }

  /** Joins, resumes and recoveries when the rooms live in Redis: the same decisions, made atomically there. */
  async #connectClustered(socket: ServerSocket, cluster: RoomCluster): Promise<ConnectRefusal | undefined> {
    if (socket.recovered) {
      const membership = socket.data as Membership | undefined;
      const known = membership === undefined ? undefined : this.#sockets.get(membership.peerId);
      if (membership !== undefined && (known === socket || known === undefined)) {
        // Not known here: its session came from another node (cluster-sessions.ts), which
        // seated it here already. What was sent to it since waits in the node until it is
        // hosted here, then follows the replay in order.
        const fromAnotherNode = known === undefined;
        let seat: ClusterSeat | undefined;
        try {
          const step = await cluster.step(membership.key, { type: 'room.back', peerId: membership.peerId });
          seat = seatIn(step.snapshot, membership.peerId);
        } catch (error) {
          if (fromAnotherNode) cluster.arrived(membership.peerId);
          return clusterRefusal(error);
        }
        if (seat !== undefined) {
          membership.seat = seat;
          membership.arrival = 'recovered';
        }
        if (fromAnotherNode) {
          if (seat !== undefined) this.#sockets.set(membership.peerId, socket);
          cluster.arrived(membership.peerId);
        }
        if (seat !== undefined) return undefined;
      }
    }
    const asked = this.#connectRequest(socket);
    if ('refusal' in asked) return asked.refusal;
    const { request, key, grant, peerId } = asked;
    const event: RoomEvent =
      grant === undefined
        ? { type: 'room.join', peerId }
        : { type: 'room.resume', peerId, role: grant.role, partnerId: grant.partnerId };
    // The directory learns the peer is here before the room does, so that an effect another
    // node's step decides for it (its partner arriving) is routed here, and kept until its welcome.
    const early: ClusterEffect[] = [];
    this.#early.set(peerId, early);
    let step;
    try {
      await cluster.seat(peerId, key);
      step = await cluster.step(key, event);
    } catch (error) {
      this.#early.delete(peerId);
      cluster.unseat(peerId).catch(() => {});
      return clusterRefusal(error);
    }
    const seat = seatIn(step.snapshot, peerId);
    if (seat === undefined) {
      this.#early.delete(peerId);
      cluster.unseat(peerId).catch(() => {});
      return refusalFor(SignalingError.roomFull(request.room, isHeld(step.snapshot.context)));
    }
    const previous = this.#sockets.get(peerId);
    if (previous !== undefined && previous !== socket) this.#replace(previous);
    const resumed = step.effects.some((effect) => effect.type === 'welcomeBack');
    const secrets = this.#inspector === undefined ? undefined : request.secret === undefined ? [] : [request.secret];
    socket.data = {
      room: request.room,
      key,
      peerId,
      arrival: resumed ? 'resumed' : 'joined',
      tokenPartner: grant?.partnerId,
      secrets,
      seat,
      early,
    } satisfies Membership;
    this.#sockets.set(peerId, socket);
    this.#early.delete(peerId);
    if (seat.partner?.presence === 'expected') this.#expectClustered(cluster, key, peerId, seat.partner.id);
    return undefined;
  }

  /** As {@link SignalingNamespace.#resync}, from the seat read at the resume. */
  #resyncClustered(socket: ServerSocket, { tokenPartner }: Membership, seat: ClusterSeat): void {
    if (tokenPartner !== undefined && seat.partner?.id !== tokenPartner) socket.emit('peer-left');
    if (seat.partner !== undefined && seat.partner.id !== tokenPartner && seat.first) socket.emit('ready');
  }

  /** As {@link SignalingNamespace.#release}: the seat is given up in Redis and in the directory. */
  #releaseClustered(socket: ServerSocket, membership: Membership, cluster: RoomCluster): void {
    const { key, peerId } = membership;
    this.#sockets.delete(peerId);
    if (this.#inspector !== undefined) this.#inspector.peerLeft(socket.id);
    const release = (async () => {
      // A peer that resumed its seat on another node meanwhile keeps it: only this node's hold ends.
      const node = await cluster.directory.locate(peerId);
      if (node !== undefined && node !== cluster.nodeId) return;
      await cluster.step(key, { type: 'room.leave', peerId });
      await cluster.unseat(peerId);
    })().catch((error: unknown) => this.#warnCluster('could not release a seat', peerId, error));
    this.#trackClusterWrite(release);
  }

  /** A seat re-formed from a resume token expects the partner back within the hold window, or frees it. */
  #expectClustered(cluster: RoomCluster, key: string, peerId: string, partnerId: string): void {
    const expected = `${key}\u0000${partnerId}`;
    if (this.#expected.has(expected)) return;
    const expiry = setTimeout(() => {
      this.#expected.delete(expected);
      void (async () => {
        const snapshot = await cluster.rooms.read(key);
        if (snapshot === undefined || otherPeer(snapshot.context, peerId)?.presence !== 'expected') return;
        await cluster.step(key, { type: 'room.leave', peerId: partnerId });
      })().catch((error: unknown) => this.#warnCluster('could not free an expected seat', partnerId, error));
    }, this.#holdWindowMs);
    expiry.unref?.();
    this.#expected.set(expected, expiry);
  }

  /** `data` to the partner, on this node or through Redis to its node, in the order it came. */
  #relayClustered(socket: ServerSocket, membership: Membership, text: string, cluster: RoomCluster): void {
    const send = (): void => {
      const to = membership.seat?.relayTo;
      if (to === undefined) {
        this.stats.dropped.noPeer += 1;
        socket.emit('error', SignalingError.noPeer().toPayload());
        return;
      }
      this.stats.relayedMessages += 1;
      this.stats.relayedBytes += text.length;
      cluster.relay(to, text).then(
        (outcome) => {
          if (outcome === 'delivered' || outcome === 'sent') return;
          this.stats.dropped.noPeer += 1;
          socket.emit('error', SignalingError.noPeer().toPayload());
        },
        (error: unknown) => {
          socket.emit('error', clusterRefusal(error).data);
        },
      );
    };
    if (membership.relays === undefined && membership.seat?.relayTo !== undefined) {
      send();
      return;
    }
    // The partner is not known here yet (it joined through another node): read the room first.
    const previous = membership.relays ?? this.#refreshSeat(cluster, membership);
    const next = previous.then(send);
    membership.relays = next;
    void next.then(() => {
      if (membership.relays === next) membership.relays = undefined;
    });
  }

  /** Reads `membership`'s room from Redis and updates what this node knows of the seat. */
  async #refreshSeat(cluster: RoomCluster, membership: Membership): Promise<void> {
    try {
      const snapshot = await cluster.rooms.read(membership.key);
      const seat = snapshot === undefined ? undefined : seatIn(snapshot, membership.peerId);
      if (seat !== undefined) membership.seat = seat;
    } catch (error) {
      this.#warnCluster('could not read a room', membership.peerId, error);
    }
  }

  /** Feeds `event` to a room in Redis, reporting a failure instead of throwing it. */
  #stepQuietly(cluster: RoomCluster, key: string, event: RoomEvent): void {
    this.#trackClusterWrite(
      cluster
        .step(key, event)
        .catch((error: unknown) => this.#warnCluster(`could not feed ${event.type}`, event.peerId, error)),
    );
  }

  #warnCluster(what: string, peerId: string, error: unknown): void {
    this.#log?.warn({ peerId, error: (error as Error).message }, `cluster: ${what}`);
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
      membership === undefined ||
      (membership.seat === undefined && this.rooms.member(membership.key, membership.peerId) === undefined)
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
      this.#issueTurnCredentials(socket);
      return;
    }
    this.stats.turnRefused += 1;
    socket.emit('ice-servers', issueStunServers(this.#turn));
    socket.emit('error', SignalingError.turnRateLimited().toPayload());
  }

  /** Sends `socket` fresh TURN credentials, and remembers when (see {@link TURN_REFRESH_FRACTION}). */
  #issueTurnCredentials(socket: ServerSocket): void {
    const membership = socket.data as Membership;
    const now = this.#now();
    this.stats.turnCredentials += 1;
    const payload = issueIceServers(this.#turn, socket.id, now);
    if (membership.secrets !== undefined) {
      for (const { username, credential } of payload.iceServers) {
        if (username !== undefined) membership.secrets.push(username);
        if (credential !== undefined) membership.secrets.push(credential);
      }
    }
    membership.turnIssuedAt = now;
    socket.emit('ice-servers', payload);
  }

  /**
   * Replaces the TURN credentials of every peer whose credentials are {@link TURN_REFRESH_FRACTION}
   * through their lifetime. A peer away within its recovery window gets them when it is back (the
   * engine replays what was sent meanwhile). The per-address limit does not apply: it bounds how
   * many credentials new connections obtain, and a refresh replaces one the peer already holds.
   */
  #refreshTurnCredentials(): void {
    const due = this.#now() - TURN_REFRESH_FRACTION * this.#turn.turnTtl * 1000;
    for (const socket of this.#sockets.values()) {
      const { turnIssuedAt } = socket.data as Membership;
      if (turnIssuedAt !== undefined && turnIssuedAt <= due) this.#issueTurnCredentials(socket);
    }
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
    if (this.#cluster !== undefined) {
      // The packet is exactly `data` + payload: forward its text; else encode it as one.
      const text = encoded !== undefined && args.length === 1 ? encoded : `2${JSON.stringify(['data', signal])}`;
      this.#relayClustered(socket, socket.data as Membership, text, this.#cluster);
      return;
    }
    const { key, peerId: self } = socket.data as Membership;
    const peerId = this.rooms.peerOf(key, self);
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

/** `peerId`'s seat as room `snapshot` has it, or undefined when it is not a member. */
function seatIn(snapshot: RoomSnapshot, peerId: string): ClusterSeat | undefined {
  const peers = snapshot.context.peers;
  const member = peers.find((peer) => peer.id === peerId);
  if (member === undefined) return undefined;
  const partner = otherPeer(snapshot.context, peerId);
  return {
    role: member.role,
    partner,
    relayTo: snapshot.hasTag('full') ? partner?.id : undefined,
    first: peers[0]?.id === peerId,
  };
}

/**
 * A join refused because the cluster could not decide it (Redis is away): said as it is, so the
 * client's user knows to retry rather than that the room is full.
 */
function clusterRefusal(error: unknown): ConnectRefusal & { data: SignalingErrorPayload } {
  const why = error instanceof ClusterError ? error.message : 'an unexpected cluster failure.';
  const refusal = SignalingError.unavailable(why);
  return { message: refusal.message, data: refusal.toPayload() };
}

function refusalFor(error: unknown): ConnectRefusal {
  if (!(error instanceof SignalingError)) throw error;
  return { message: error.message, data: error.toPayload() };
}
