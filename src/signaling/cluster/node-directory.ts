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
 * room steps). The TTL is the liveness bound (`parley serve --node-ttl`, default 10 s): a node
 * whose event loop stalls for longer is taken for dead although it lives. The heartbeat is a
 * third of it, so two beats in a row may be lost or late.
 *
 * A graceful stop is not a death: the node marks its seats held for their peers to resume on
 * another node (`stop({ holdSeatsMillis })`), and the survivors release what is left of them only
 * once that hold has passed, through the same claim (see docs/scaling.md, "Graceful stop").
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

/** The node TTL of `parley serve --redis` unless `--node-ttl` says otherwise: 10 s. */
export const DEFAULT_NODE_TTL_MILLIS = 10_000;

/**
 * The shortest node TTL a server accepts: 3 s. A heartbeat that Redis does not answer fails
 * after the command timeout (2 s), and a dropped connection is retried after at most 1 s: a TTL
 * shorter than both together lets one slow beat, or one reconnect, get a live node taken for dead
 * (and after an outage its sweep would release live nodes' seats). Tests of the directory itself
 * use shorter ones.
 */
export const MIN_NODE_TTL_MILLIS = 3_000;

/** Heartbeats per TTL: a node may miss two in a row and still be alive. */
export const BEATS_PER_TTL = 3;

/** The heartbeat period that goes with node TTL `ttlMillis`. */
export function heartbeatMillisFor(ttlMillis: number): number {
  return Math.floor(ttlMillis / BEATS_PER_TTL);
}

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
  /** Heartbeat period; default a third of `ttlMillis`, or 1000 ms when neither is given. */
  readonly heartbeatMillis?: number;
  /**
   * How long a node is alive after its last heartbeat; default three periods. At least
   * {@link BEATS_PER_TTL} periods (the constructor throws a RangeError otherwise).
   */
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

/** How a node leaves the cluster (see {@link NodeDirectory.stop}). */
export interface LeaveOptions {
  /**
   * Keep this node's seats for their peers this long (the recovery window) before the survivors
   * release them; 0 or absent: release them on their next sweep, as for a dead node.
   */
  readonly holdSeatsMillis?: number;
  /** Longest wait for a heartbeat or a sweep in flight before leaving; default 2000 ms. */
  readonly settleMillis?: number;
}

/**
 * Claim dead node ARGV[1] for releaser ARGV[2]: if its alive key is gone, the hold of a graceful
 * stop is over and it is still a member, remove it from the members, move its seats aside and
 * record who releases them. KEYS: nodes, alive(dead), seats(dead), releasing(dead), reaping,
 * leaving(dead).
 */
const CLAIM_DEAD = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[6]) == 1 then return 0 end
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
  /** The heartbeat and the sweep in flight, if any (a stop waits for them). */
  #beating: Promise<void> | undefined;
  #sweeping: Promise<void> | undefined;
  #member = false;
  /** Stopped: no more heartbeats, and a sweep in flight ends after the seat it is releasing. */
  #stopped = false;
  /** Since when every heartbeat succeeded (undefined after a failure or while Redis is down). */
  #healthySince: number | undefined;

  constructor(options: NodeDirectoryOptions) {
    this.nodeId = options.nodeId;
    this.#link = options.link;
    this.#heartbeatLink = options.heartbeatLink ?? options.link;
    this.#keys = options.keys ?? new ClusterKeys();
    this.#releaseSeat = options.releaseSeat;
    this.#heartbeatMillis =
      options.heartbeatMillis ?? (options.ttlMillis === undefined ? 1000 : heartbeatMillisFor(options.ttlMillis));
    this.#ttlMillis = options.ttlMillis ?? BEATS_PER_TTL * this.#heartbeatMillis;
    if (!(this.#heartbeatMillis > 0) || this.#ttlMillis < BEATS_PER_TTL * this.#heartbeatMillis) {
      throw new RangeError(
        `The node TTL (${this.#ttlMillis} ms) must be at least ${BEATS_PER_TTL} heartbeats ` +
          `(${this.#heartbeatMillis} ms each), or a node that misses one beat is taken for dead.`,
      );
    }
    this.#onEvicted = options.onEvicted;
    this.#log = options.log;
    for (const link of new Set([this.#link, this.#heartbeatLink])) {
      link.onChange((up) => {
        if (!up) this.#healthySince = undefined;
      });
    }
    const redis = this.#link.redis;
    if (typeof redis.parleyClaimDead !== 'function') {
      redis.defineCommand('parleyClaimDead', { numberOfKeys: 6, lua: CLAIM_DEAD });
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

  /** How long a node is alive after its last heartbeat. */
  get ttlMillis(): number {
    return this.#ttlMillis;
  }

  /** The heartbeat period. */
  get heartbeatMillis(): number {
    return this.#heartbeatMillis;
  }

  /** The seats this node holds: peer identity → room key (its `/healthz` and inspector view). */
  get localSeats(): ReadonlyMap<string, string> {
    return this.#seats;
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
   * Leaves the cluster on a graceful stop, in order: no more heartbeats or sweeps; the heartbeat
   * and the sweep in flight finish (at most `settleMillis`; a sweep stops after the seat it is
   * releasing, and a survivor takes the rest over); then, in one transaction, the alive key goes
   * (the relay answers `node-gone` at once, and any release job of this node is taken over) and,
   * with `holdSeatsMillis`, a `leaving` key with that TTL keeps the survivors from releasing this
   * node's seats until it expires. A peer that resumes on another node meanwhile moves its seat
   * there and keeps it; the others' seats are released once the hold is over, as a dead node's.
   * Never rejects: if Redis is away the node is taken for dead after its TTL instead.
   * Calling it again changes nothing.
   */
  async stop(options: LeaveOptions = {}): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    const inFlight = [this.#beating, this.#sweeping].filter((work) => work !== undefined);
    if (inFlight.length > 0) await settledWithin(Promise.all(inFlight), options.settleMillis ?? 2000);
    const hold = Math.max(0, Math.round(options.holdSeatsMillis ?? 0));
    await this.#link
      .run('leaving the cluster', (redis) => {
        const leave = redis.multi().del(this.#keys.alive(this.nodeId));
        if (hold > 0) leave.set(this.#keys.leaving(this.nodeId), String(Date.now() + hold), 'PX', hold);
        return leave.exec();
      })
      .then(
        () => this.#log?.info({ node: this.nodeId, seats: this.#seats.size, holdMillis: hold }, 'left the cluster'),
        (error: unknown) =>
          this.#log?.warn(
            { node: this.nodeId, error: (error as Error).message },
            'could not leave the cluster: the others take this node for dead after its TTL',
          ),
      );
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
      if (this.#stopped) return released;
      if (node === this.nodeId) continue;
      const claimed = await this.#link.run('claiming a dead node', (redis) =>
        redis.parleyClaimDead(
          this.#keys.nodes,
          this.#keys.alive(node),
          this.#keys.seats(node),
          this.#keys.releasing(node),
          this.#keys.reaping,
          this.#keys.leaving(node),
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
      if (this.#stopped) return released;
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
      // Stopping: the job stays this node's in `reaping`, and a survivor takes it over.
      if (this.#stopped) return released;
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
    if (this.#stopped) return;
    this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    this.#sweeping ??= this.#sweepWhenHealthy().finally(() => (this.#sweeping = undefined));
  }

  async #beat(): Promise<void> {
    try {
      await this.#heartbeat();
      this.#healthySince ??= Date.now();
    } catch {
      // Redis is away (the link logs it once): the next tick tries again.
      this.#healthySince = undefined;
    }
  }

  async #sweepWhenHealthy(): Promise<void> {
    // The others need a TTL after an outage to beat again before they can be taken for dead.
    if (this.#healthySince === undefined || Date.now() - this.#healthySince < this.#ttlMillis) return;
    try {
      await this.sweep();
    } catch {
      // A release failed: the job stays this node's, and the next sweep goes on with it.
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

/** `work`, or nothing once `millis` have passed, whichever comes first; never rejects. */
async function settledWithin(work: Promise<unknown>, millis: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, millis);
    }),
  ]);
  clearTimeout(timer);
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    parleyClaimDead(
      nodes: string,
      alive: string,
      seats: string,
      releasing: string,
      reaping: string,
      leaving: string,
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
