/**
 * Connection state recovery across the nodes of a cluster: the engine's shared session store
 * (src/signaling/engine/shared-session-store.ts), so that a client whose node died, or whose load
 * balancer sent it to another node, recovers its session there (same socket id, its data, its
 * seat, what it missed). docs/scaling.md, "Recovery across nodes", tells the design and its limits.
 *
 * Every recoverable socket has a record in Redis (./redis-session-store.ts) naming its node. A
 * CONNECT with a pid this node does not hold claims the record (once, whatever races it), then:
 * 1. seats the peer here in the directory, so that new packets and effects for it come here,
 *    where they wait until the socket exists ({@link SessionRouting.expect});
 * 2. if the record's node still beats, asks it, through the relay bus, to hand the socket over.
 *    The holder answers after everything that reached it before the request (its stream is
 *    read in order): it gives the packets its client had not read, forgets the socket without
 *    releasing its seat, and forwards what still comes for that peer to the claimant. Or it
 *    keeps the socket (recovered there meanwhile, or not restorable from the client's offset),
 *    and the claimant gives a fresh socket;
 * 3. a holder that is dead, or silent for `handOverTimeoutMillis`, cannot answer: the claimant
 *    replays what it wrote to Redis while it held the socket (the engine filters it by the
 *    client's offset), and nothing of a socket it held connected (that was in its memory only).
 *
 * While a socket is held here, what it keeps for its client is written to Redis as well
 * (`persist`, `append`): only then, so a connected socket costs one record and nothing more.
 */
import { randomBytes } from 'node:crypto';
import type { EngineLog } from '../engine/engine-log.js';
import type { RetainedPacket } from '../engine/retained-log.js';
import type {
  HandOver,
  HandOverRequest,
  HeldLog,
  HeldPacket,
  SharedClaim,
  SharedSessionStore,
  SharedSocket,
} from '../engine/shared-session-store.js';
import type { RelayOutcome } from './relay-bus.js';
import { decodePacket, encodePacket, type RedisSessionStore, type SessionRecord } from './redis-session-store.js';

/** Where a restored socket's peer sits: its identity and its room's key. */
export interface SessionSeat {
  readonly peerId: string;
  readonly room: string;
}

/** What the application says about its socket data (the signaling namespace's membership). */
export interface SessionData {
  /** The part of a socket's data that travels to another node (JSON). */
  share(data: unknown): unknown;
  /** The socket data made again from what {@link SessionData.share} gave. */
  restore(shared: unknown): unknown;
  /** The seat socket data stands for, or undefined when it holds none (then nothing is restored). */
  seatOf(data: unknown): SessionSeat | undefined;
}

/** What the sessions need of their node (ClusterNode). */
export interface SessionRouting {
  readonly nodeId: string;
  /** Sends a control message to `node` through the relay bus. */
  sendControl(node: string, message: string): Promise<RelayOutcome>;
  /** Records that `peerId` (now hosted here) holds a seat in `room`; forgets it. */
  seat(peerId: string, room: string): Promise<void>;
  unseat(peerId: string): Promise<void>;
  /** Packets and effects for `peerId` wait here: its socket is being made. */
  expect(peerId: string): void;
  /** `peerId`'s socket exists (or will not): what waited for it is handed over, in order. */
  arrived(peerId: string): void;
  /** `peerId` moved to `node`: what still comes here for it goes there. */
  movedTo(peerId: string, node: string): void;
}

/** How to build {@link ClusterSessions}. */
export interface ClusterSessionsOptions {
  readonly store: RedisSessionStore;
  readonly routing: SessionRouting;
  readonly data: SessionData;
  readonly log?: EngineLog;
  /** How long a claimant waits for a live holder to hand a socket over; default 2000 ms. */
  readonly handOverTimeoutMillis?: number;
}

/** The control messages of a hand-over, sent through the relay bus. */
type SessionMessage =
  | {
      readonly type: 'claimed';
      readonly id: string;
      readonly from: string;
      readonly peerId: string;
      readonly request: HandOverRequest;
    }
  | { readonly type: 'handed'; readonly id: string; readonly replay: string[] }
  | { readonly type: 'kept'; readonly id: string };

/** This node's side of recovery across nodes. */
export class ClusterSessions implements SharedSessionStore {
  readonly #store: RedisSessionStore;
  readonly #routing: SessionRouting;
  readonly #data: SessionData;
  readonly #log: EngineLog | undefined;
  readonly #timeout: number;
  /** Claims waiting for their holder's answer, by request id. */
  readonly #asking = new Map<string, (replay: RetainedPacket[] | 'kept' | 'silent') => void>();
  /** The engine's recovery window, as its held sessions tell it (every socket of an engine has the same). */
  #windowMillis = 120_000;
  /** The engine's hand-over, once it serves (see {@link ClusterSessions.serve}). */
  #handOver: ((request: HandOverRequest) => HandOver | undefined) | undefined;

  constructor(options: ClusterSessionsOptions) {
    this.#store = options.store;
    this.#routing = options.routing;
    this.#data = options.data;
    this.#log = options.log;
    this.#timeout = options.handOverTimeoutMillis ?? 2000;
  }

  /** Other nodes' claims of sockets held here are answered by `handOver` (the engine's) from now on. */
  serve(handOver: (request: HandOverRequest) => HandOver | undefined): void {
    this.#handOver = handOver;
  }

  track(socket: SharedSocket): void {
    this.#store
      .track(socket.pid, this.#record(socket))
      .catch((error: unknown) => this.#warn('could not record a session', error));
  }

  persist(socket: SharedSocket, held: HeldLog): void {
    this.#windowMillis = held.windowMillis;
    this.#store.persist(socket.pid, held).catch((error: unknown) => this.#warn('could not hold a session', error));
  }

  append(socket: SharedSocket, kept: HeldPacket): void {
    this.#store
      .append(socket.pid, this.#windowMillis, kept)
      .catch((error: unknown) => this.#warn('could not keep a packet for a held session', error));
  }

  release(socket: SharedSocket): void {
    this.#store
      .release(socket.pid, this.#routing.nodeId, socket.generation)
      .catch((error: unknown) => this.#warn('could not forget a session', error));
  }

  async claim(pid: string, nsp: string, offset: string | undefined): Promise<SharedClaim | undefined> {
    let claimed;
    try {
      claimed = await this.#store.claim(pid, nsp);
    } catch (error) {
      this.#warn('could not claim a session', error);
      return undefined;
    }
    // A record of this node that this node no longer holds is stale: the socket ended here.
    if (claimed === undefined || claimed.session.node === this.#routing.nodeId) return undefined;
    const { session, holderAlive } = claimed;
    const data = this.#data.restore(session.data);
    const seat = this.#data.seatOf(data);
    if (seat === undefined) return undefined;
    const routing = this.#routing;
    routing.expect(seat.peerId);
    try {
      // Seated here before the holder is asked, on the same connection: whatever is sent to the
      // peer after that comes here, and whatever was sent before reaches the holder first.
      await routing.seat(seat.peerId, seat.room);
      const request: HandOverRequest = { pid, nsp, generation: session.generation, offset };
      const answer = holderAlive ? await this.#ask(session.node, seat.peerId, request) : 'silent';
      if (answer === 'kept') {
        await routing.unseat(seat.peerId);
        routing.arrived(seat.peerId);
        return undefined;
      }
      // A holder that cannot answer: what it wrote while holding the socket, if it held it.
      if (answer === 'silent') return { sid: session.sid, data, replay: [], held: claimed.held };
      return { sid: session.sid, data, replay: answer };
    } catch (error) {
      routing.arrived(seat.peerId);
      this.#warn('could not take a session over', error);
      return undefined;
    }
  }

  /** A control message from another node (the text after the bus's control mark). */
  receive(text: string): void {
    let message: SessionMessage;
    try {
      message = JSON.parse(text) as SessionMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'claimed':
        this.#answerClaim(message);
        return;
      case 'handed':
        this.#asking.get(message.id)?.(message.replay.map(decodePacket));
        return;
      case 'kept':
        this.#asking.get(message.id)?.('kept');
        return;
    }
  }

  /** Asks `node` to hand over the socket of `request.pid`: its unread packets, 'kept', or 'silent' (no answer). */
  #ask(node: string, peerId: string, request: HandOverRequest): Promise<RetainedPacket[] | 'kept' | 'silent'> {
    const id = randomBytes(9).toString('base64url');
    return new Promise((resolve) => {
      const settle = (replay: RetainedPacket[] | 'kept' | 'silent'): void => {
        if (!this.#asking.delete(id)) return;
        clearTimeout(timer);
        resolve(replay);
      };
      const timer = setTimeout(() => {
        this.#log?.warn({ node, peerId }, 'cluster: the node holding a session did not hand it over in time');
        settle('silent');
      }, this.#timeout);
      timer.unref?.();
      this.#asking.set(id, settle);
      const message: SessionMessage = { type: 'claimed', id, from: this.#routing.nodeId, peerId, request };
      this.#routing.sendControl(node, JSON.stringify(message)).then(
        (outcome) => {
          if (outcome === 'node-gone') settle('silent');
        },
        () => settle('silent'),
      );
    });
  }

  /** Another node claimed a session: hand the socket over if it is here, else say it stays. */
  #answerClaim({ id, from, peerId, request }: Extract<SessionMessage, { type: 'claimed' }>): void {
    const answer = this.#handOver?.(request);
    let reply: SessionMessage;
    if (answer?.outcome === 'moved') {
      // Before anything else for this peer is handled here: later packets follow the reply.
      this.#routing.movedTo(peerId, from);
      reply = { type: 'handed', id, replay: answer.replay.map(encodePacket) };
    } else {
      // Kept here (its record is written again): its seat is this node's again, before the
      // claimant, reading the reply, lets go of it.
      const seat = answer === undefined ? undefined : this.#data.seatOf(answer.socket.data);
      if (seat !== undefined) {
        this.#routing.seat(seat.peerId, seat.room).catch((error: unknown) => this.#warn('could not re-seat', error));
      }
      reply = { type: 'kept', id };
    }
    this.#routing
      .sendControl(from, JSON.stringify(reply))
      .catch((error: unknown) => this.#warn('could not answer a claim', error));
  }

  #record(socket: SharedSocket): SessionRecord {
    return {
      sid: socket.id,
      nsp: socket.nsp,
      data: this.#data.share(socket.data) ?? null,
      node: this.#routing.nodeId,
      generation: socket.generation,
    };
  }

  #warn(what: string, error: unknown): void {
    this.#log?.warn({ error: (error as Error).message }, `cluster: ${what}`);
  }
}
