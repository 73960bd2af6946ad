/**
 * Which node hosts which peer, and which nodes are alive: the part of the cluster that turns a
 * node's death into released seats.
 *
 * Each node refreshes a key with a TTL (its heartbeat) and records the seats it holds (peer
 * identity → room key) and where each peer is. A node whose key has expired is dead: a survivor
 * claims it in one script (only one survivor can remove it from the member set), moves its
 * seats aside and releases them one by one through `releaseSeat` (the room machine's
 * `room.leave`, whose effects tell the partner). A seat whose peer has meanwhile recovered on
 * another node is skipped. If the survivor dies while releasing, another one takes the job over
 * once the first one's key has expired too.
 *
 * Exactly once: the claim gives each dead node one releaser at a time, and a release that is
 * repeated after a takeover is a `room.leave` of a peer the room no longer has, which the room
 * machine ignores without effects. So each seat is freed, and its partner told, once.
 *
 * The bound: a node that dies at t is released by t + ttl + one heartbeat (plus the time of the
 * room steps), with the defaults 3 s + 1 s.
 *
 * A node sweeps only once it has been beating without a failure for a whole TTL. Otherwise, after
 * an outage of Redis longer than the TTL (a restart with persistence, a partition), the first
 * node back would find every other node's heartbeat expired and release all their seats,
 * although they are alive and only a few reconnect attempts behind.
 */
import type { Result } from 'ioredis';
import type { EngineLog } from '../engine/engine-log.js';
import { ClusterKeys } from './cluster-keys.js';
import type { RedisLink } from './redis-link.js';

/** A seat held by a peer on some node. */
export interface Seat {
  readonly peerId: string;
  readonly room: string;
}

/** How to build a {@link NodeDirectory}. */
export interface NodeDirectoryOptions {
  readonly nodeId: string;
  readonly link: RedisLink;
  /**
   * The connection the heartbeat goes over; default `link`. A connection of its own keeps the
   * heartbeat from waiting behind a busy node's queue of room steps and lookups, which would get
   * a live node taken for dead.
   */
  readonly heartbeatLink?: RedisLink;
  /**
   * Frees a dead node's seat (feed `room.leave` to the room and carry out its effects). Must be
   * safe to repeat; a rejection leaves the seat to the next sweep.
   */
  readonly releaseSeat: (seat: Seat, deadNode: string) => Promise<void>;
  /** Heartbeat period; default 1000 ms. */
  readonly heartbeatMillis?: number;
  /** How long a node is alive after its last heartbeat; default three periods. */
  readonly ttlMillis?: number;
  /**
   * This node found itself no longer a member: the others took it for dead (a partition from
   * Redis longer than the TTL) or Redis restarted empty. Its seats may have been released: the
   * server should disconnect its clients so that they recover and join again.
   */
  readonly onEvicted?: () => void;
  readonly log?: EngineLog;
  readonly keys?: ClusterKeys;
}

/**
 * Claim dead node ARGV[1] for releaser ARGV[2]: if its alive key is gone and it is still a
 * member, remove it from the members, move its seats aside and record who releases them.
 * KEYS: nodes, alive(dead), seats(dead), releasing(dead), reaping.
 */
const CLAIM_DEAD = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[4]) end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
return 1
`;

/**
 * Take over releasing ARGV[1] from ARGV[2] (whose alive key KEYS[2] must be gone) for ARGV[3].
 * KEYS: reaping, alive(previous releaser).
 */
const TAKE_OVER = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * Before releasing peer ARGV[1] of dead node ARGV[2]: forget where it was, unless it has moved
 * to another node (then its seat is not the dead node's to release). KEYS: where. Returns 1 to
 * release, 0 to skip.
 */
const FORGET_IF_THERE = `
local at = redis.call('HGET', KEYS[1], ARGV[1])
if at ~= false and at ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;

/** Remove peer ARGV[1] from this node's seats, and its location if it is still here (ARGV[2]). KEYS: seats, where. */
const UNSEAT = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
`;

/** One node's membership of the cluster. */
export class NodeDirectory {
  readonly nodeId: string;
  readonly #link: RedisLink;
  readonly #heartbeatLink: RedisLink;
  readonly #keys: ClusterKeys;
  readonly #releaseSeat: (seat: Seat, deadNode: string) => Promise<void>;
  readonly #heartbeatMillis: number;
  readonly #ttlMillis: number;
  readonly #onEvicted: (() => void) | undefined;
  readonly #log: EngineLog | undefined;
  /** The seats this node holds (reported when it finds itself evicted). */
  readonly #seats = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #beating = false;
  #sweeping = false;
  #member = false;
  /** Since when every heartbeat succeeded (undefined after a failure or while Redis is down). */
  #healthySince: number | undefined;

  constructor(options: NodeDirectoryOptions) {
    this.nodeId = options.nodeId;
    this.#link = options.link;
    this.#heartbeatLink = options.heartbeatLink ?? options.link;
    this.#keys = options.keys ?? new ClusterKeys();
    this.#releaseSeat = options.releaseSeat;
    this.#heartbeatMillis = options.heartbeatMillis ?? 1000;
    this.#ttlMillis = options.ttlMillis ?? 3 * this.#heartbeatMillis;
    this.#onEvicted = options.onEvicted;
    this.#log = options.log;
    for (const link of new Set([this.#link, this.#heartbeatLink])) {
      link.onChange((up) => {
        if (!up) this.#healthySince = undefined;
      });
    }
    const redis = this.#link.redis;
    if (typeof redis.parleyClaimDead !== 'function') {
      redis.defineCommand('parleyClaimDead', { numberOfKeys: 5, lua: CLAIM_DEAD });
      redis.defineCommand('parleyTakeOver', { numberOfKeys: 2, lua: TAKE_OVER });
      redis.defineCommand('parleyForgetIfThere', { numberOfKeys: 1, lua: FORGET_IF_THERE });
      redis.defineCommand('parleyUnseat', { numberOfKeys: 2, lua: UNSEAT });
    }
  }

  /**
   * How long after its death a node's seats are released at the latest (plus the release itself),
   * by survivors that have been in touch with Redis for the last TTL.
   */
  get releaseBoundMillis(): number {
    return this.#ttlMillis + this.#heartbeatMillis;
  }

  /** Joins the cluster (first heartbeat) and keeps beating and sweeping every period. */
  async start(): Promise<void> {
    await this.#heartbeat();
    this.#healthySince = Date.now();
    this.#member = true;
    this.#timer = setInterval(() => void this.#tick(), this.#heartbeatMillis);
    this.#timer.unref();
  }

  /**
   * Leaves the cluster on a graceful stop: no more heartbeats, and the node is removed at once
   * (its remaining seats are released by the others on their next sweep, as for a dead node).
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#link.run('leaving the cluster', (redis) => redis.del(this.#keys.alive(this.nodeId))).catch(() => {});
  }

  /** Records that `peerId` holds a seat in `room` on this node. */
  async seat(peerId: string, room: string): Promise<void> {
    this.#seats.set(peerId, room);
    await this.#link.run('recording a seat', (redis) =>
      redis
        .multi()
        .hset(this.#keys.seats(this.nodeId), peerId, room)
        .hset(this.#keys.where, peerId, this.nodeId)
        .exec(),
    );
  }

  /** Forgets `peerId`'s seat on this node (it left, or its session ended). */
  async unseat(peerId: string): Promise<void> {
    this.#seats.delete(peerId);
    await this.#link.run('forgetting a seat', (redis) =>
      redis.parleyUnseat(this.#keys.seats(this.nodeId), this.#keys.where, peerId, this.nodeId),
    );
  }

  /** The node that hosts `peerId`, if any. */
  async locate(peerId: string): Promise<string | undefined> {
    const node = await this.#link.run('locating a peer', (redis) => redis.hget(this.#keys.where, peerId));
    return node ?? undefined;
  }

  /** Whether node `nodeId` is alive (its heartbeat has not expired). */
  async isAlive(nodeId: string): Promise<boolean> {
    return (await this.#link.run('checking a node', (redis) => redis.exists(this.#keys.alive(nodeId)))) === 1;
  }

  /**
   * Releases the seats of every dead node, once: the ones this node claims now and the ones whose
   * releaser died. Returns how many seats it released. Runs on every heartbeat; callable directly.
   */
  async sweep(): Promise<number> {
    const [members, reaping] = await this.#link.run('looking for dead nodes', async (redis) => {
      const [nodes, jobs] = await Promise.all([redis.smembers(this.#keys.nodes), redis.hgetall(this.#keys.reaping)]);
      return [nodes, jobs] as const;
    });
    let released = 0;
    for (const node of members) {
      if (node === this.nodeId) continue;
      const claimed = await this.#link.run('claiming a dead node', (redis) =>
        redis.parleyClaimDead(
          this.#keys.nodes,
          this.#keys.alive(node),
          this.#keys.seats(node),
          this.#keys.releasing(node),
          this.#keys.reaping,
          node,
          this.nodeId,
        ),
      );
      if (claimed === 1) {
        this.#log?.warn({ node, releaser: this.nodeId }, 'A Parley node stopped beating: releasing its seats');
        released += await this.#release(node);
      }
    }
    for (const [node, releaser] of Object.entries(reaping)) {
      if (releaser === this.nodeId) {
        // Ours from an earlier sweep that did not finish (a failed room step): go on.
        released += await this.#release(node);
        continue;
      }
      const taken = await this.#link.run('taking over a release', (redis) =>
        redis.parleyTakeOver(this.#keys.reaping, this.#keys.alive(releaser), node, releaser, this.nodeId),
      );
      if (taken === 1) released += await this.#release(node);
    }
    return released;
  }

  /** Releases what is left of dead node `node`'s seats, then forgets the node. */
  async #release(node: string): Promise<number> {
    const releasing = this.#keys.releasing(node);
    const seats = await this.#link.run('reading seats to release', (redis) => redis.hgetall(releasing));
    let released = 0;
    for (const [peerId, room] of Object.entries(seats)) {
      const there = await this.#link.run('releasing a seat', (redis) =>
        redis.parleyForgetIfThere(this.#keys.where, peerId, node),
      );
      if (there === 1) {
        await this.#releaseSeat({ peerId, room }, node);
        released += 1;
      }
      await this.#link.run('releasing a seat', (redis) => redis.hdel(releasing, peerId));
    }
    await this.#link.run('forgetting a dead node', (redis) =>
      redis.multi().hdel(this.#keys.reaping, node).del(releasing).del(this.#keys.relay(node)).exec(),
    );
    return released;
  }

  /**
   * One period: a heartbeat, and a sweep unless one is still running. They do not wait for each
   * other: releasing a dead node's many seats takes longer than a period, and a node that
   * stopped beating meanwhile would be taken for dead in its turn.
   */
  #tick(): void {
    if (!this.#beating) void this.#beat();
    if (!this.#sweeping) void this.#sweepWhenHealthy();
  }

  async #beat(): Promise<void> {
    this.#beating = true;
    try {
      await this.#heartbeat();
      this.#healthySince ??= Date.now();
    } catch {
      // Redis is away (the link logs it once): the next tick tries again.
      this.#healthySince = undefined;
    } finally {
      this.#beating = false;
    }
  }

  async #sweepWhenHealthy(): Promise<void> {
    // The others need a TTL after an outage to beat again before they can be taken for dead.
    if (this.#healthySince === undefined || Date.now() - this.#healthySince < this.#ttlMillis) return;
    this.#sweeping = true;
    try {
      await this.sweep();
    } catch {
      // A release failed: the job stays this node's, and the next sweep goes on with it.
    } finally {
      this.#sweeping = false;
    }
  }

  async #heartbeat(): Promise<void> {
    const [, added] = await this.#heartbeatLink.run('beating', (redis) =>
      Promise.all([
        redis.set(this.#keys.alive(this.nodeId), '1', 'PX', this.#ttlMillis),
        redis.sadd(this.#keys.nodes, this.nodeId),
      ]),
    );
    if (added === 1 && this.#member) {
      // Taken for dead, or Redis restarted empty: the seats here may be gone from their rooms.
      this.#log?.warn(
        { node: this.nodeId, seats: this.#seats.size },
        'This node was no longer a cluster member (taken for dead, or Redis restarted): its clients must join again',
      );
      this.#seats.clear();
      this.#onEvicted?.();
    }
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    parleyClaimDead(
      nodes: string,
      alive: string,
      seats: string,
      releasing: string,
      reaping: string,
      node: string,
      releaser: string,
    ): Result<0 | 1, Context>;
    parleyTakeOver(
      reaping: string,
      alive: string,
      node: string,
      releaser: string,
      taker: string,
    ): Result<0 | 1, Context>;
    parleyForgetIfThere(where: string, peerId: string, node: string): Result<0 | 1, Context>;
    parleyUnseat(seats: string, where: string, peerId: string, node: string): Result<1, Context>;
  }
}
