/**
 * One Parley node's membership of a Redis cluster: the narrow seam the signaling namespace is
 * wired to with `--redis`. It puts the parts together (rooms in Redis, the directory, the relay
 * bus) and routes what crosses nodes:
 * - a room step's effects go to the node that hosts the peer they name (`params.peerId`): run
 *   here when the peer is local, else sent through the relay bus and run there;
 * - a relayed packet goes to the local socket of its peer, or through the bus to its node;
 * - a dead node's seats are released with the machine's leave event, and the effects routed.
 * Effects and packets for one peer travel on the same stream, so they arrive in the order the
 * sending node produced them.
 *
 * The namespace keeps its sockets; it tells the node which peers it hosts and how to carry out
 * an effect and hand over a packet locally.
 */
import { randomBytes } from 'node:crypto';
import type { AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';
import type { EngineLog } from '../engine/engine-log.js';
import { ClusterKeys } from './cluster-keys.js';
import { NodeDirectory, type LeaveOptions } from './node-directory.js';
import { RedisLink } from './redis-link.js';
import { RedisRoomStore, type ClusterEffect, type RoomStep } from './redis-room-store.js';
import { RelayBus, type RelayOutcome } from './relay-bus.js';
import { ClusterSessions, type SessionData, type SessionRouting } from './cluster-sessions.js';
import { RedisSessionStore } from './redis-session-store.js';

/** How to start a {@link ClusterNode}. */
export interface ClusterNodeOptions<TMachine extends AnyStateMachine> {
  /** `redis://…` */
  readonly url: string;
  /** This node's id; default 12 random bytes (a node id is never reused). */
  readonly nodeId?: string;
  readonly log?: EngineLog;
  readonly keys?: ClusterKeys;
  /** The room machine and how to make, dispose of and leave a room (see RedisRoomStore). */
  readonly machine: TMachine;
  readonly input: (room: string) => InputFrom<TMachine>;
  readonly isDisposable: (snapshot: SnapshotFrom<TMachine>) => boolean;
  /** The event that frees `peerId`'s seat (released for a dead node). */
  readonly leaveEvent: (peerId: string) => EventFromLogic<TMachine>;
  /** Whether peer `peerId` has its socket on this node. */
  readonly hosts: (peerId: string) => boolean;
  /** Carries out `effect` of room `room` for a peer on this node. */
  readonly effect: (effect: ClusterEffect, room: string) => void;
  /**
   * Told of every step this node makes, before its effects are carried out (the inspector's
   * view of the rooms, see inspector/cluster-room-view.ts).
   */
  readonly onStep?: (room: string, event: EventFromLogic<TMachine>, snapshot: SnapshotFrom<TMachine>) => void;
  /** Hands a packet relayed from another node to local peer `peerId`. */
  readonly deliver: (peerId: string, text: string) => void;
  /** This node was taken for dead or Redis restarted empty: its clients must join again. */
  readonly onEvicted?: () => void;
  readonly heartbeatMillis?: number;
  /** How long this node is alive after its last heartbeat (see NodeDirectory); default three heartbeats. */
  readonly ttlMillis?: number;
  /** How long a peer's node is remembered before it is looked up again; default 1000 ms. */
  readonly locationCacheMillis?: number;
  /** Wall-clock time for the location cache; default `Date.now`. */
  readonly now?: () => number;
  /**
   * Connection state recovery across nodes: what of a socket's data travels (see
   * ./cluster-sessions.ts). Without it, {@link ClusterNode.sessions} is undefined.
   */
  readonly sessions?: SessionData & { readonly handOverTimeoutMillis?: number };
}

/** How long packets for a peer that moved to another node are forwarded there (location caches last 1 s). */
const MOVED_MILLIS = 10_000;

/** How long packets wait for a peer whose session is being taken over here, at most. */
const EXPECT_MILLIS = 10_000;

/**
 * Bus packets that carry an effect rather than a Socket.IO packet start with this character;
 * a Socket.IO packet starts with its type, a digit.
 */
const EFFECT_MARK = '!';

/** Bus packets that carry a session hand-over message (./cluster-sessions.ts) start with this one. */
const SESSION_MARK = '?';

/** What a relay came to. */
export type ClusterRelayOutcome = 'delivered' | RelayOutcome | 'no-peer';

/** A packet waiting for its peer's node to be looked up. */
interface WaitingPacket {
  readonly text: string;
  readonly resolve: (outcome: ClusterRelayOutcome | Promise<ClusterRelayOutcome>) => void;
  readonly reject: (error: unknown) => void;
}

/** A node of the cluster. */
export class ClusterNode<TMachine extends AnyStateMachine> implements SessionRouting {
  readonly nodeId: string;
  /** The node's Redis connections (for `parley_redis_up`). */
  readonly links: readonly RedisLink[];
  readonly rooms: RedisRoomStore<TMachine>;
  readonly directory: NodeDirectory;
  readonly bus: RelayBus;
  /** Recovery across nodes: the engine's shared session store (with `sessions` in the options). */
  readonly sessions: ClusterSessions | undefined;
  readonly #options: ClusterNodeOptions<TMachine>;
  /** Peers whose session is being taken over here: what came for them meanwhile, in order. */
  readonly #expected = new Map<string, string[]>();
  /** Peers that moved to another node: their node, until when (in insertion order, so oldest first). */
  readonly #moved = new Map<string, { node: string; until: number }>();
  readonly #commands: RedisLink;
  readonly #locations = new Map<string, { node: string; until: number }>();
  /** Packets for a peer whose node is being looked up, in the order they came. */
  readonly #waiting = new Map<string, WaitingPacket[]>();
  readonly #now: () => number;
  readonly #cacheMillis: number;

  private constructor(options: ClusterNodeOptions<TMachine>) {
    this.#options = options;
    this.nodeId = options.nodeId ?? randomBytes(12).toString('base64url');
    this.#now = options.now ?? Date.now;
    this.#cacheMillis = options.locationCacheMillis ?? 1000;
    const keys = options.keys ?? new ClusterKeys();
    this.#commands = new RedisLink({ url: options.url, role: 'commands', log: options.log });
    const reader = new RedisLink({ url: options.url, role: 'relay reader', log: options.log, commandTimeoutMillis: 0 });
    // The heartbeat has a connection of its own, so a node busy with room steps still beats.
    const heartbeat = new RedisLink({ url: options.url, role: 'heartbeat', log: options.log });
    this.links = [this.#commands, reader, heartbeat];
    this.rooms = new RedisRoomStore({
      link: this.#commands,
      machine: options.machine,
      input: options.input,
      isDisposable: options.isDisposable,
      prefix: `${keys.prefix}room:`,
    });
    this.directory = new NodeDirectory({
      nodeId: this.nodeId,
      link: this.#commands,
      heartbeatLink: heartbeat,
      keys,
      log: options.log,
      heartbeatMillis: options.heartbeatMillis,
      ttlMillis: options.ttlMillis,
      onEvicted: options.onEvicted,
      releaseSeat: async ({ peerId, room }) => void (await this.step(room, options.leaveEvent(peerId))),
    });
    this.bus = new RelayBus({
      nodeId: this.nodeId,
      commands: this.#commands,
      reader,
      keys,
      deliver: (peerId, text) => this.#received(peerId, text),
    });
    this.sessions =
      options.sessions === undefined
        ? undefined
        : new ClusterSessions({
            store: new RedisSessionStore({ link: this.#commands, keys }),
            routing: this,
            data: options.sessions,
            log: options.log,
            handOverTimeoutMillis: options.sessions.handOverTimeoutMillis,
          });
  }

  /** Connects to Redis (waiting up to `timeoutMillis`), joins the cluster and starts reading relayed packets. */
  static async start<TMachine extends AnyStateMachine>(
    options: ClusterNodeOptions<TMachine>,
    timeoutMillis = 10_000,
  ): Promise<ClusterNode<TMachine>> {
    const node = new ClusterNode(options);
    try {
      await Promise.all(node.links.map((link) => link.whenUp(timeoutMillis)));
      await node.directory.start();
    } catch (error) {
      await Promise.all(node.links.map((link) => link.close()));
      throw error;
    }
    node.bus.start();
    return node;
  }

  /**
   * Feeds `event` to room `room` atomically across nodes and routes its effects; resolves once
   * they are carried out here or handed to Redis for their node. Rejects with a ClusterError.
   */
  async step(room: string, event: EventFromLogic<TMachine>): Promise<RoomStep<TMachine>> {
    const step = await this.rooms.step(room, event);
    this.#options.onStep?.(room, event, step.snapshot);
    const remote: Array<Promise<unknown>> = [];
    for (const effect of step.effects) {
      const peerId = (effect.params as { peerId?: unknown } | undefined)?.peerId;
      if (typeof peerId !== 'string' || this.#options.hosts(peerId)) {
        this.#options.effect(effect, room);
        continue;
      }
      remote.push(this.#sendTo(peerId, EFFECT_MARK + JSON.stringify({ room, effect })));
    }
    await Promise.all(remote);
    return step;
  }

  /** Records that `peerId` (now hosted here) holds a seat in `room`. */
  seat(peerId: string, room: string): Promise<void> {
    this.#locations.delete(peerId);
    this.#moved.delete(peerId);
    return this.directory.seat(peerId, room);
  }

  /** Forgets `peerId`'s seat on this node. */
  unseat(peerId: string): Promise<void> {
    return this.directory.unseat(peerId);
  }

  /** Hands `text` (a Socket.IO packet) to peer `peerId`, here or on its node. */
  relay(peerId: string, text: string): Promise<ClusterRelayOutcome> {
    if (this.#options.hosts(peerId)) {
      this.#options.deliver(peerId, text);
      return Promise.resolve('delivered');
    }
    const moved = this.#movedNode(peerId);
    if (moved !== undefined) return this.#sendVia(moved, peerId, text);
    return this.#sendTo(peerId, text);
  }

  // ---- SessionRouting (./cluster-sessions.ts) ------------------------------------------------

  sendControl(node: string, message: string): Promise<RelayOutcome> {
    return this.bus.send(node, '-', SESSION_MARK + message);
  }

  expect(peerId: string): void {
    if (this.#expected.has(peerId)) return;
    this.#expected.set(peerId, []);
    // A claim whose socket never comes (its client vanished) does not keep packets forever.
    setTimeout(() => this.arrived(peerId), EXPECT_MILLIS).unref?.();
  }

  arrived(peerId: string): void {
    const waiting = this.#expected.get(peerId);
    if (waiting === undefined) return;
    this.#expected.delete(peerId);
    for (const text of waiting) this.#received(peerId, text);
  }

  movedTo(peerId: string, node: string): void {
    const now = this.#now();
    // Oldest first: forget the ones whose time is up.
    for (const [peer, moved] of this.#moved) {
      if (moved.until > now) break;
      this.#moved.delete(peer);
    }
    this.#moved.delete(peerId);
    this.#moved.set(peerId, { node, until: now + MOVED_MILLIS });
  }

  #movedNode(peerId: string): string | undefined {
    const moved = this.#moved.get(peerId);
    if (moved === undefined) return undefined;
    if (moved.until > this.#now()) return moved.node;
    this.#moved.delete(peerId);
    return undefined;
  }

  /** Leaves the cluster (holding its seats as `leave` says, see NodeDirectory.stop) and closes the connections. */
  async stop(leave?: LeaveOptions): Promise<void> {
    await this.directory.stop(leave);
    await this.bus.stop();
    await Promise.all(this.links.map((link) => link.close()));
  }

  /**
   * Sends `text` towards `peerId`'s node, in the order of the calls. A packet whose peer's node
   * is not cached waits for the lookup, and so does every packet for that peer that comes while
   * the lookup runs: they are handed to the bus together, in order, when it answers. (Each
   * packet doing its own lookup would let a later one, finding the cache refreshed, overtake an
   * earlier one still waiting for its answer.)
   */
  #sendTo(peerId: string, text: string): Promise<ClusterRelayOutcome> {
    const waiting = this.#waiting.get(peerId);
    if (waiting !== undefined) return new Promise((resolve, reject) => waiting.push({ text, resolve, reject }));
    const cached = this.#locations.get(peerId);
    if (cached !== undefined && cached.until > this.#now()) return this.#sendVia(cached.node, peerId, text);
    const queue: WaitingPacket[] = [];
    this.#waiting.set(peerId, queue);
    const first = new Promise<ClusterRelayOutcome>((resolve, reject) => queue.push({ text, resolve, reject }));
    this.#locate(peerId).then(
      (node) => {
        this.#waiting.delete(peerId);
        for (const packet of queue) {
          packet.resolve(node === undefined ? 'no-peer' : this.#sendVia(node, peerId, packet.text));
        }
      },
      (error: unknown) => {
        this.#waiting.delete(peerId);
        for (const packet of queue) packet.reject(error);
      },
    );
    return first;
  }

  /** Hands `text` to the bus for `node` now (the bus keeps the order of its calls). */
  async #sendVia(node: string, peerId: string, text: string): Promise<ClusterRelayOutcome> {
    const outcome = await this.bus.send(node, peerId, text);
    if (outcome === 'node-gone') this.#locations.delete(peerId);
    return outcome;
  }

  async #locate(peerId: string): Promise<string | undefined> {
    const node = await this.directory.locate(peerId);
    if (node === undefined) this.#locations.delete(peerId);
    else this.#locations.set(peerId, { node, until: this.#now() + this.#cacheMillis });
    return node;
  }

  #received(peerId: string, text: string): void {
    if (text.startsWith(SESSION_MARK)) {
      this.sessions?.receive(text.slice(SESSION_MARK.length));
      return;
    }
    const expected = this.#expected.get(peerId);
    if (expected !== undefined) {
      expected.push(text);
      return;
    }
    if (!this.#options.hosts(peerId)) {
      // A peer whose session moved to another node: forwarded there, behind what was handed over.
      const moved = this.#movedNode(peerId);
      if (moved !== undefined) void this.#sendVia(moved, peerId, text).catch(() => {});
      // Else one that went away: what was meant for it here is dropped.
      return;
    }
    if (!text.startsWith(EFFECT_MARK)) {
      this.#options.deliver(peerId, text);
      return;
    }
    const { room, effect } = JSON.parse(text.slice(EFFECT_MARK.length)) as { room: string; effect: ClusterEffect };
    this.#options.effect(effect, room);
  }
}
