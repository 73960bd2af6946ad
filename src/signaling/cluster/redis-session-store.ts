/**
 * Connection state recovery's held sessions in Redis, so that a client whose node went away (or
 * whose load balancer sent it elsewhere) recovers on another node: the Redis side of the
 * engine's `SessionStore` seam (src/signaling/engine/session-store.ts).
 *
 * The engine's in-memory store keeps live socket objects; across nodes only data can travel,
 * so a held session is a record (its socket id, namespace, the app's `data`, the node that held
 * it) and the packets emitted to it while held, with their offsets. It keeps the guarantees the
 * seam asks for:
 * - `claim` takes the record and its packets in one script: of two reconnects with the same
 *   pid, on any nodes, one gets it;
 * - `append` adds a packet only while the record is there, in the same script: once a claim has
 *   taken it, `append` answers `claimed`, and the node that held the socket routes the packet to
 *   the claimant instead (through the relay), so nothing appended after the take is lost;
 * - the record and its packets expire with the window (a TTL on both keys), and `expire` tells
 *   the node that held the session whether it is still the one to end it (release its seat) or
 *   whether a claim got there first;
 * - pids are never listed: keys are looked up by pid only.
 */
import type { Result } from 'ioredis';
import type { RetainedPacket } from '../engine/retained-log.js';
import { ClusterKeys } from './cluster-keys.js';
import type { RedisLink } from './redis-link.js';

/** A held session as other nodes can restore it. */
export interface HeldSession {
  /** The socket id the client had, kept across the recovery. */
  readonly sid: string;
  readonly nsp: string;
  /** The application's socket data (JSON): its room membership, its peer identity. */
  readonly data: unknown;
  /** The node that held it. */
  readonly node: string;
  /** Offsets after this one were emitted while it was held (the replay starts above it). */
  readonly lastOffset: number;
}

/** A claimed session and the packets to replay to it, oldest first. */
export interface ClaimedSession {
  readonly session: HeldSession;
  readonly packets: ReadonlyArray<{ readonly offset: number; readonly packet: RetainedPacket }>;
}

/** How to build a {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  readonly link: RedisLink;
  /** How long a held session can be claimed (the engine's `maxDisconnectionDuration`). */
  readonly windowMillis: number;
  readonly keys?: ClusterKeys;
}

/** Set the record and clear earlier packets. KEYS: record, packets. ARGV: record JSON, ttl ms. */
const PERSIST = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
`;

/** Append while held. KEYS: record, packets. ARGV: offset, packet. Returns 1, or 0 when claimed or expired. */
const APPEND = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`;

/** Take the record and its packets if the namespace matches. KEYS: record, packets. ARGV: nsp. */
const CLAIM = `
local record = redis.call('GET', KEYS[1])
if record == false then return false end
if cjson.decode(record).nsp ~= ARGV[1] then return false end
local packets = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2])
table.insert(packets, 1, record)
return packets
`;

/** Remove the record if it is still there. KEYS: record, packets. Returns 1 if it was. */
const EXPIRE = `
local held = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return held
`;

/** A packet as stored: text as is after `t`, text and binary attachments as JSON after `b`. */
function encodePacket(packet: RetainedPacket): string {
  if (typeof packet === 'string') return `t${packet}`;
  const [text, ...buffers] = packet;
  return `b${JSON.stringify([text, ...buffers.map((buffer) => buffer.toString('base64'))])}`;
}

function decodePacket(stored: string): RetainedPacket {
  if (stored.startsWith('t')) return stored.slice(1);
  const [text, ...buffers] = JSON.parse(stored.slice(1)) as [string, ...string[]];
  return [text, ...buffers.map((base64) => Buffer.from(base64, 'base64'))];
}

/** Held sessions of every node, in Redis. */
export class RedisSessionStore {
  readonly #link: RedisLink;
  readonly #keys: ClusterKeys;
  readonly #windowMillis: number;

  constructor(options: RedisSessionStoreOptions) {
    this.#link = options.link;
    this.#keys = options.keys ?? new ClusterKeys();
    this.#windowMillis = options.windowMillis;
    const redis = this.#link.redis;
    if (typeof redis.parleySessionPersist !== 'function') {
      redis.defineCommand('parleySessionPersist', { numberOfKeys: 2, lua: PERSIST });
      redis.defineCommand('parleySessionAppend', { numberOfKeys: 2, lua: APPEND });
      redis.defineCommand('parleySessionClaim', { numberOfKeys: 2, lua: CLAIM });
      redis.defineCommand('parleySessionExpire', { numberOfKeys: 2, lua: EXPIRE });
    }
  }

  /** Holds the session of `pid` for the window (again, if it was held before: its packets start over). */
  async persist(pid: string, session: HeldSession): Promise<void> {
    await this.#link.run('holding a session', (redis) =>
      redis.parleySessionPersist(
        this.#keys.session(pid),
        this.#keys.sessionPackets(pid),
        JSON.stringify(session),
        String(this.#windowMillis),
      ),
    );
  }

  /** Keeps a packet emitted to held session `pid`; `claimed` when it is no longer held (route it to the claimant). */
  async append(pid: string, offset: number, packet: RetainedPacket): Promise<'kept' | 'claimed'> {
    const kept = await this.#link.run('keeping a packet for a held session', (redis) =>
      redis.parleySessionAppend(
        this.#keys.session(pid),
        this.#keys.sessionPackets(pid),
        String(offset),
        encodePacket(packet),
      ),
    );
    return kept === 1 ? 'kept' : 'claimed';
  }

  /** Takes held session `pid` of namespace `nsp` with its packets, or undefined (unknown, expired, claimed, another namespace). */
  async claim(pid: string, nsp: string): Promise<ClaimedSession | undefined> {
    const reply = await this.#link.run('claiming a session', (redis) =>
      redis.parleySessionClaim(this.#keys.session(pid), this.#keys.sessionPackets(pid), nsp),
    );
    if (reply === null) return undefined;
    const [record, ...flat] = reply;
    const packets: Array<{ offset: number; packet: RetainedPacket }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      packets.push({ offset: Number(flat[i]), packet: decodePacket(flat[i + 1]) });
    }
    return { session: JSON.parse(record) as HeldSession, packets };
  }

  /**
   * The window of `pid` passed on the node that held it: true if it was still held (that node
   * ends it and releases what it held), false if a claim took it first.
   */
  async expire(pid: string): Promise<boolean> {
    const held = await this.#link.run('expiring a session', (redis) =>
      redis.parleySessionExpire(this.#keys.session(pid), this.#keys.sessionPackets(pid)),
    );
    return held === 1;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    parleySessionPersist(record: string, packets: string, json: string, ttl: string): Result<1, Context>;
    parleySessionAppend(record: string, packets: string, offset: string, packet: string): Result<0 | 1, Context>;
    parleySessionClaim(record: string, packets: string, nsp: string): Result<[string, ...string[]] | null, Context>;
    parleySessionExpire(record: string, packets: string): Result<0 | 1, Context>;
  }
}
