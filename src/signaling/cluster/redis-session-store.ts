/**
 * Where each recoverable session lives, in Redis, so that a client whose node went away (or
 * whose load balancer sent it elsewhere) can claim its session on another node. The Redis half
 * of the engine's shared store (src/signaling/engine/shared-session-store.ts; the other half,
 * asking the holder for the socket, is ./cluster-sessions.ts).
 *
 * A record per pid, written when the client is given its pid (on each join and each recovery):
 * its socket id, namespace, the app's socket data (JSON), the node that holds it and the socket's
 * generation there. Only data travels: the socket object, its window and its unread packets
 * stay in the holder's memory, which hands them over when asked. So holding a socket and
 * emitting to a held one cost nothing here; a join costs one SET, a leave one script.
 *
 * - `claim` takes the record in one compare-and-delete script: of two reconnects with the same
 *   pid, on any nodes, exactly one gets it. A claim that finds the record written again by a
 *   recovery meanwhile (another node or generation) gets nothing: another connection recovered
 *   the session while the claim was in flight. A record whose node is gone from the cluster (dead
 *   and its seats released, or stopped) is refused and deleted: its seat is gone too, so the
 *   session's window is over;
 * - `release` deletes the record only if it is still the one the releasing node wrote (after a
 *   claim elsewhere it is the claimant's);
 * - records live `recordTtlMillis` at most (a node that dies leaves its records behind; nobody
 *   can claim them once it is reaped), and pids are only ever looked up, never listed.
 */
import type { Result } from 'ioredis';
import type { RetainedPacket } from '../engine/retained-log.js';
import type { HeldLog, HeldPacket } from '../engine/shared-session-store.js';
import { ClusterKeys } from './cluster-keys.js';
import type { RedisLink } from './redis-link.js';

/** A recoverable session as another node can make its socket again. */
export interface SessionRecord {
  /** The socket id the client had, kept across the recovery. */
  readonly sid: string;
  readonly nsp: string;
  /** The application's socket data (JSON): its room membership, its peer identity. */
  readonly data: unknown;
  /** The node that holds the socket. */
  readonly node: string;
  /** The socket's generation on that node (see SharedSocket.generation). */
  readonly generation: number;
}

/** A claimed record, and whether its node still beats (then it holds the socket and is asked for it). */
export interface ClaimedRecord {
  readonly session: SessionRecord;
  readonly holderAlive: boolean;
  /** What the holder wrote while it held the socket (none if it was connected), for when it cannot answer. */
  readonly held: HeldLog | undefined;
}

/** How to build a {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  readonly link: RedisLink;
  /** How long a record lives at most; default 24 hours (a resume token's life). */
  readonly recordTtlMillis?: number;
  readonly keys?: ClusterKeys;
}

/**
 * Take the record if it is still what was read. KEYS: record, alive key of its node, the member
 * set. ARGV: the record as read, its node. Returns 1 (taken, node alive), 0 (taken, node dead
 * but not yet reaped), -1 (node gone: deleted, not taken) or false (changed meanwhile).
 */
const CLAIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local held = redis.call('LRANGE', KEYS[4], 0, -1)
redis.call('DEL', KEYS[1], KEYS[4])
local alive = -1
if redis.call('EXISTS', KEYS[2]) == 1 then alive = 1
elseif redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then alive = 0 end
table.insert(held, 1, alive)
return held
`;

/** Record a new generation: no longer held. KEYS: record, held packets. ARGV: record JSON, ttl. */
const TRACK = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
`;

/** The socket is held: its packets so far. KEYS: held packets. ARGV: window ms, header, offset, packet, ... */
const PERSIST = `
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** One more packet for a held socket, if still held. KEYS: held packets. ARGV: window ms, offset, packet. */
const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** Delete the record (and held packets) if it is still the node's own. KEYS: record, held packets. ARGV: node, generation. */
const RELEASE = `
local stored = redis.call('GET', KEYS[1])
if stored == false then return 0 end
local record = cjson.decode(stored)
if record.node ~= ARGV[1] or record.generation ~= tonumber(ARGV[2]) then return 0 end
return redis.call('DEL', KEYS[1], KEYS[2])
`;

/** Records of every node's recoverable sessions, in Redis. */
export class RedisSessionStore {
  readonly #link: RedisLink;
  readonly #keys: ClusterKeys;
  readonly #ttl: string;

  constructor(options: RedisSessionStoreOptions) {
    this.#link = options.link;
    this.#keys = options.keys ?? new ClusterKeys();
    this.#ttl = String(options.recordTtlMillis ?? 24 * 3_600_000);
    const redis = this.#link.redis;
    if (typeof redis.parleySessionClaim !== 'function') {
      redis.defineCommand('parleySessionClaim', { numberOfKeys: 4, lua: CLAIM });
      redis.defineCommand('parleySessionRelease', { numberOfKeys: 2, lua: RELEASE });
      redis.defineCommand('parleySessionTrack', { numberOfKeys: 2, lua: TRACK });
      redis.defineCommand('parleySessionPersist', { numberOfKeys: 1, lua: PERSIST });
      redis.defineCommand('parleySessionAppend', { numberOfKeys: 1, lua: APPEND });
    }
  }

  /** Records session `pid` as `record` says (replacing an earlier record of it, which is no longer held). */
  async track(pid: string, record: SessionRecord): Promise<void> {
    await this.#link.run('recording a session', (redis) =>
      redis.parleySessionTrack(
        this.#keys.session(pid),
        this.#keys.sessionPackets(pid),
        encodeRecord(record),
        this.#ttl,
      ),
    );
  }

  /** Session `pid` is held from now on, keeping `held` (for the window). */
  async persist(pid: string, held: HeldLog): Promise<void> {
    const header = JSON.stringify({ tag: held.tag, first: held.first, floor: held.floor });
    const pairs: string[] = [];
    for (const { offset, packet } of held.packets) pairs.push(String(offset), encodePacket(packet));
    await this.#link.run('holding a session', (redis) =>
      redis.parleySessionPersist(this.#keys.sessionPackets(pid), String(held.windowMillis), header, ...pairs),
    );
  }

  /** One more packet for held session `pid`; false when it is no longer held (claimed, expired). */
  async append(pid: string, windowMillis: number, kept: HeldPacket): Promise<boolean> {
    const appended = await this.#link.run('keeping a packet for a held session', (redis) =>
      redis.parleySessionAppend(
        this.#keys.sessionPackets(pid),
        String(windowMillis),
        String(kept.offset),
        encodePacket(kept.packet),
      ),
    );
    return appended === 1;
  }

  /** Forgets session `pid` if its record is still the one `node` wrote for `generation`. */
  async release(pid: string, node: string, generation: number): Promise<boolean> {
    const deleted = await this.#link.run('forgetting a session', (redis) =>
      redis.parleySessionRelease(this.#keys.session(pid), this.#keys.sessionPackets(pid), node, String(generation)),
    );
    return deleted === 1;
  }

  /**
   * Takes session `pid` of namespace `nsp`, or undefined (unknown, claimed, recovered by another
   * connection while this claim was in flight, another namespace, or its node gone from the
   * cluster). Rejects with a ClusterError when Redis is away.
   */
  async claim(pid: string, nsp: string): Promise<ClaimedRecord | undefined> {
    const key = this.#keys.session(pid);
    let first: SessionRecord | undefined;
    // Read, then compare-and-delete: the script needs the node's keys, which are in the record.
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const stored = await this.#link.run('reading a session', (redis) => redis.get(key));
      if (stored === null) return undefined;
      const session = JSON.parse(stored) as SessionRecord;
      if (session.nsp !== nsp) return undefined;
      // Written again by a recovery since the first read (another node, another generation):
      // another connection with this pid has the session now, and a session is recovered once.
      if (first !== undefined && (session.node !== first.node || session.generation !== first.generation)) {
        return undefined;
      }
      first ??= session;
      const taken = await this.#link.run('claiming a session', (redis) =>
        redis.parleySessionClaim(
          key,
          this.#keys.alive(session.node),
          this.#keys.nodes,
          this.#keys.sessionPackets(pid),
          stored,
          session.node,
        ),
      );
      if (taken === null) continue; // written again meanwhile: read it again
      const [alive, header, ...flat] = taken;
      if (alive === -1) return undefined;
      return { session, holderAlive: alive === 1, held: decodeHeld(header, flat) };
    }
    return undefined;
  }
}

function decodeHeld(header: string | undefined, flat: string[]): HeldLog | undefined {
  if (header === undefined) return undefined;
  const { tag, first, floor } = JSON.parse(header) as { tag: string; first: number; floor: number };
  const packets: HeldPacket[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    packets.push({ offset: Number(flat[i]), packet: decodePacket(flat[i + 1]) });
  }
  return { tag, first, floor, packets, windowMillis: 0 };
}

/** A packet as stored: text as is after `t`, text and binary attachments (base64) as JSON after `b`. */
export function encodePacket(packet: RetainedPacket): string {
  if (typeof packet === 'string') return `t${packet}`;
  const [text, ...buffers] = packet;
  return `b${JSON.stringify([text, ...buffers.map((buffer) => buffer.toString('base64'))])}`;
}

/** The packet {@link encodePacket} stored. */
export function decodePacket(stored: string): RetainedPacket {
  if (stored.startsWith('t')) return stored.slice(1);
  const [text, ...buffers] = JSON.parse(stored.slice(1)) as [string, ...string[]];
  return [text, ...buffers.map((base64) => Buffer.from(base64, 'base64'))];
}

function encodeRecord(record: SessionRecord): string {
  const { sid, nsp, data, node, generation } = record;
  return JSON.stringify({ sid, nsp, data, node, generation });
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    parleySessionClaim(
      record: string,
      alive: string,
      nodes: string,
      held: string,
      stored: string,
      node: string,
    ): Result<[1 | 0 | -1, ...string[]] | null, Context>;
    parleySessionRelease(record: string, held: string, node: string, generation: string): Result<0 | 1, Context>;
    parleySessionTrack(record: string, held: string, json: string, ttl: string): Result<1, Context>;
    parleySessionPersist(held: string, ttl: string, header: string, ...pairs: string[]): Result<1, Context>;
    parleySessionAppend(held: string, ttl: string, offset: string, packet: string): Result<0 | 1, Context>;
  }
}
