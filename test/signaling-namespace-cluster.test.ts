/**
 * Unit tests of the signaling app with `--redis`: SignalingNamespace driven as the engine drives
 * it, on "nodes" that share an in-memory stand-in for the cluster. The stand-in keeps what Redis
 * keeps (each room's snapshot of the real room machine, which node seats which peer) and routes
 * as ClusterNode does (a step's effects to the node hosting their peer, a relay to its peer's
 * node); each of its operations can be made to fail with a ClusterError, or held until released,
 * to pin what the namespace does when Redis is away or slow. The same behaviour on a real
 * redis-server is tested through real processes in test/cluster-wiring.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RoomEvent } from '../src/machines/room-machine.js';
import { roomMachine } from '../src/machines/room-machine.js';
import { SignalingError } from '../src/protocol/signaling-error.js';
import { FakeSocket } from './helpers/fake-server-socket.js';
import type { EngineLog } from '../src/signaling/engine/engine-log.js';
import { ClusterError } from '../src/signaling/cluster/cluster-error.js';
import type { ClusterEffect } from '../src/signaling/cluster/redis-room-store.js';
import type { SignalingInspector } from '../src/signaling/inspector/inspection-hub.js';
import { newPeerIdentity, ResumeTokens } from '../src/signaling/resume-token.js';
import { roomKey, type RoomSnapshot } from '../src/signaling/room-registry.js';
import { createSnapshotStepper } from '../src/signaling/snapshot-stepper.js';
import { SignalingNamespace, type RoomCluster } from '../src/signaling/signaling-namespace.js';
import type { TurnConfig } from '../src/signaling/turn-credentials.js';

const RESUME_SECRET = 'cluster-unit-test-resume-secret';
const TURN: TurnConfig = { turnUrls: [], turnSecret: undefined, turnTtl: 600, stunUrls: [] };
const NOW = Date.UTC(2026, 10, 27, 12);

type Operation = 'step' | 'seat' | 'unseat' | 'relay' | 'read' | 'locate';

/** What Redis holds for the cluster, and the nodes that share it. */
class FakeRedis {
  readonly rooms = new Map<string, RoomSnapshot>();
  /** Which node seats each peer (the directory). */
  readonly seats = new Map<string, string>();
  readonly nodes = new Map<string, FakeNode>();
  readonly stepper = createSnapshotStepper(roomMachine);
  /** Operations that fail, once each, with the error given. */
  readonly #failures: { operation: Operation; error: unknown }[] = [];
  /** Operations held until released. */
  readonly #holds: { operation: Operation; released: Promise<void> }[] = [];

  failNext(operation: Operation, error: unknown = ClusterError.redisUnavailable(operation)): void {
    this.#failures.push({ operation, error });
  }

  /** The next call of `operation` waits until the returned function is called. */
  holdNext(operation: Operation): () => void {
    let release!: () => void;
    this.#holds.push({ operation, released: new Promise<void>((resolve) => (release = resolve)) });
    return release;
  }

  /** Every operation starts here: held, if asked, then always a tick later, then failing, if asked. */
  async enter(operation: Operation): Promise<void> {
    const held = this.#holds.findIndex((hold) => hold.operation === operation);
    if (held >= 0) await this.#holds.splice(held, 1)[0].released;
    await Promise.resolve();
    const failure = this.#failures.findIndex((f) => f.operation === operation);
    if (failure >= 0) throw this.#failures.splice(failure, 1)[0].error;
  }
}

/**
 * One node's view of the cluster: the part of ClusterNode the namespace calls, routing a step's
 * effects and a relay the way ClusterNode does (here at once, to another node a tick later).
 */
class FakeNode {
  readonly steps: { key: string; event: RoomEvent }[] = [];
  readonly arrivals: string[] = [];
  namespace!: SignalingNamespace;
  readonly directory = {
    locate: async (peerId: string) => this.redis.enter('locate').then(() => this.redis.seats.get(peerId)),
  };
  readonly rooms = { read: async (key: string) => this.redis.enter('read').then(() => this.redis.rooms.get(key)) };

  constructor(
    readonly nodeId: string,
    readonly redis: FakeRedis,
  ) {
    redis.nodes.set(nodeId, this);
  }

  async step(
    key: string,
    event: RoomEvent,
  ): Promise<{ snapshot: RoomSnapshot; effects: ClusterEffect[]; attempts: number }> {
    await this.redis.enter('step');
    this.steps.push({ key, event });
    const current = this.redis.rooms.get(key) ?? this.redis.stepper.initial({ room: key })[0];
    const [snapshot, actions] = this.redis.stepper.step(current, event);
    if (snapshot.value === 'empty') this.redis.rooms.delete(key);
    else this.redis.rooms.set(key, snapshot);
    const effects = actions.map(({ type, params }) => ({ type, params }));
    for (const effect of effects) {
      const peerId = (effect.params as { peerId?: string }).peerId;
      if (peerId === undefined || this.namespace.hostsPeer(peerId)) {
        this.namespace.runClusterEffect(effect, key);
        continue;
      }
      // Through the bus to the peer's node: it arrives there a little later.
      const node = this.redis.nodes.get(this.redis.seats.get(peerId) ?? '');
      if (node !== undefined) setImmediate(() => node.namespace.runClusterEffect(effect, key));
    }
    return { snapshot, effects, attempts: 1 };
  }

  /** The directory records the node only (the room is for a dead node's release, not used here). */
  async seat(peerId: string): Promise<void> {
    await this.redis.enter('seat');
    this.redis.seats.set(peerId, this.nodeId);
  }

  async unseat(peerId: string): Promise<void> {
    await this.redis.enter('unseat');
    if (this.redis.seats.get(peerId) === this.nodeId) this.redis.seats.delete(peerId);
  }

  async relay(peerId: string, text: string): Promise<'delivered' | 'sent' | 'node-gone' | 'no-peer'> {
    await this.redis.enter('relay');
    if (this.namespace.hostsPeer(peerId)) {
      this.namespace.deliverRelayed(peerId, text);
      return 'delivered';
    }
    const node = this.redis.nodes.get(this.redis.seats.get(peerId) ?? '');
    if (node === undefined) return 'no-peer';
    setImmediate(() => node.namespace.deliverRelayed(peerId, text));
    return 'sent';
  }

  arrived(peerId: string): void {
    this.arrivals.push(peerId);
  }
}

function recordingLog() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log: EngineLog = { warn: (fields, message) => warnings.push({ fields, message }), info: () => {} };
  return { log, warnings };
}

/** A cluster of `count` nodes on one fake Redis, each with its namespace. */
function cluster(count = 2, options: { holdWindowMs?: number; inspector?: SignalingInspector } = {}) {
  const redis = new FakeRedis();
  const { log, warnings } = recordingLog();
  const nodes = Array.from({ length: count }, (_, i) => {
    const node = new FakeNode(`node-${i}`, redis);
    node.namespace = new SignalingNamespace({
      turn: TURN,
      now: () => NOW,
      resumeSecret: RESUME_SECRET,
      cluster: node as unknown as RoomCluster,
      log,
      ...options,
    });
    return node;
  });
  return { redis, nodes, warnings };
}

/** Lets every pending step, relay and routed effect run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

function socketFor(auth: unknown): FakeSocket {
  return new FakeSocket(newPeerIdentity(), auth);
}

/** Connects `socket` through `node` as the engine does: CONNECT decided, then acknowledged. */
async function admit(node: FakeNode, socket: FakeSocket): Promise<FakeSocket> {
  expect(await node.namespace.connect(socket)).toBeUndefined();
  node.namespace.connected(socket);
  await settle();
  return socket;
}

function grantOf(token: string, room = 'r') {
  const grant = new ResumeTokens(RESUME_SECRET, { now: () => NOW }).verify(roomKey(room, undefined), token);
  return grant && { peerId: grant.peerId, role: grant.role, partnerId: grant.partnerId };
}

const ids = (snapshot: RoomSnapshot | undefined) => snapshot?.context.peers.map((p) => `${p.id}:${p.presence}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('joining through the cluster', () => {
  it('seats the peer in Redis, welcomes it, and tells the peer waiting on another node ready', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    expect(a.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(a.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(redis.seats.get(a.id)).toBe('node-0');
    expect(nodes[0].namespace.hostsPeer(a.id)).toBe(true);
    expect(nodes[1].namespace.hostsPeer(a.id)).toBe(false);
    a.clear();
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite' }]]);
    expect(grantOf(b.lastToken())).toEqual({ peerId: b.id, role: 'polite', partnerId: a.id });
    // a learns its partner from Redis once told ready: its token names b.
    expect(a.names()).toEqual(['ready', 'resume-token']);
    expect(grantOf(a.lastToken())).toEqual({ peerId: a.id, role: 'impolite', partnerId: b.id });
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:here`]);
  });

  it('keeps no secrets of a peer when the inspector is off', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r', secret: 'room-pw' }));
    expect((a.data as { secrets?: unknown }).secrets).toBeUndefined();
  });

  it('gives a socket whose id is no peer identity a fresh one', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], new FakeSocket('not-an-identity', { room: 'r' }));
    const peerId = nodes[0].namespace.peerIdOf('not-an-identity');
    expect(peerId).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(grantOf(a.lastToken())?.peerId).toBe(peerId);
  });

  it('refuses a third peer with room-full, unseats it, and says when a seat is held', async () => {
    const { redis, nodes } = cluster();
    await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    const c = socketFor({ room: 'r' });
    expect(await nodes[0].namespace.connect(c)).toEqual({
      message: 'Room "r" is full: it already holds two peers.',
      data: { code: 'room-full', message: 'Room "r" is full: it already holds two peers.' },
    });
    await settle();
    expect(redis.seats.has(c.id)).toBe(false);
    expect(nodes[0].namespace.hostsPeer(c.id)).toBe(false);
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    expect(await nodes[0].namespace.connect(socketFor({ room: 'r' }))).toMatchObject({
      message: 'Room "r" is full: it holds two peers, one of them reconnecting.',
    });
  });

  it('refuses a bad handshake as without a cluster, touching nothing', async () => {
    const { redis, nodes } = cluster();
    expect(await nodes[0].namespace.connect(socketFor({ room: 'bad room!' }))).toMatchObject({
      data: { code: 'bad-room-name' },
    });
    expect(nodes[0].steps).toEqual([]);
    expect(redis.seats.size).toBe(0);
  });

  it('refuses a join with unavailable when Redis does not take the seat or the step, saying why, and unseats it', async () => {
    const { redis, nodes } = cluster();
    redis.failNext('seat');
    const a = socketFor({ room: 'r' });
    expect(await nodes[0].namespace.connect(a)).toEqual({
      message:
        'The server cannot reach its shared state right now (Redis is unavailable: seat did not happen.) Try again in a moment.',
      data: {
        code: 'unavailable',
        message:
          'The server cannot reach its shared state right now (Redis is unavailable: seat did not happen.) Try again in a moment.',
      },
    });
    redis.failNext('step', new Error('boom'));
    const b = socketFor({ room: 'r' });
    expect(await nodes[0].namespace.connect(b)).toMatchObject({
      message:
        'The server cannot reach its shared state right now (an unexpected cluster failure.) Try again in a moment.',
      data: { code: 'unavailable' },
    });
    await settle();
    expect(redis.seats.has(b.id)).toBe(false);
    expect(nodes[0].namespace.hostsPeer(a.id)).toBe(false);
    expect(nodes[0].namespace.hostsPeer(b.id)).toBe(false);
    expect(redis.rooms.size).toBe(0);
  });

  it('keeps a newcomer hosted here while its join is decided, so effects for it are kept until its welcome', async () => {
    const { redis, nodes } = cluster();
    const a = socketFor({ room: 'r' });
    const release = redis.holdNext('step');
    const connecting = nodes[0].namespace.connect(a);
    await settle();
    expect(nodes[0].namespace.hostsPeer(a.id)).toBe(true);
    // An effect for it arrives before its socket is admitted: kept, then run after the welcome.
    nodes[0].namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'r');
    release();
    expect(await connecting).toBeUndefined();
    // Admitted, not yet welcomed: another effect is kept too.
    nodes[0].namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'r');
    expect(a.emitted).toEqual([]);
    nodes[0].namespace.connected(a);
    expect(a.names()).toEqual([
      'role',
      'ice-servers',
      'resume-token',
      'peer-left',
      'resume-token',
      'peer-left',
      'resume-token',
    ]);
    // Once welcomed, effects run at once.
    a.clear();
    nodes[0].namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'r');
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
  });

  it('runs no effect for a peer it does not host, of another room, without a peer, or of another kind', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    a.clear();
    const namespace = nodes[0].namespace;
    namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: newPeerIdentity() } }, 'r');
    namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'another room');
    namespace.runClusterEffect({ type: 'disposeRoom', params: { room: 'r' } }, 'r');
    namespace.runClusterEffect({ type: 'notifyPeerLeft', params: undefined }, 'r');
    namespace.runClusterEffect({ type: 'welcomePeer', params: { peerId: a.id, role: 'impolite', room: 'r' } }, 'r');
    await settle();
    expect(a.emitted).toEqual([]);
  });

  it('ignores cluster effects and relayed packets when it has no cluster, or no such peer', () => {
    const alone = new SignalingNamespace({ turn: TURN, resumeSecret: RESUME_SECRET });
    const a = new FakeSocket(newPeerIdentity(), { room: 'r' });
    expect(alone.connect(a)).toBeUndefined();
    alone.connected(a);
    a.clear();
    alone.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'r');
    alone.deliverRelayed(newPeerIdentity(), 'text');
    expect(a.emitted).toEqual([]);
    expect(a.sentEncoded).toEqual([]);
  });
});

describe('relaying through the cluster', () => {
  const offer = { type: 'offer', sdp: 'v=0' };

  it('relays to a partner on another node, reading the room first when the partner is not known yet, in order', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const release = redis.holdNext('read');
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    // b knows a from its join's step; a learns of b when its read is released.
    nodes[1].namespace.event(b, 'data', [offer], undefined, 'b1');
    await settle();
    expect(a.sentEncoded).toEqual(['b1']);
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a1');
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a2');
    release();
    await settle();
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a3');
    await settle();
    expect(b.sentEncoded).toEqual(['a1', 'a2', 'a3']);
    expect(a.all('error')).toEqual([]);
    expect(b.all('error')).toEqual([]);
    expect(nodes[0].namespace.stats).toMatchObject({ relayedMessages: 3, relayedBytes: 6, dropped: { noPeer: 0 } });
    expect(nodes[1].namespace.stats).toMatchObject({ relayedMessages: 1, relayedBytes: 2 });
  });

  it('keeps data in order when the partner becomes known while earlier data waits for the room to be read', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    // The read that ready starts, then the read a's first data starts, are both held.
    const releaseReady = redis.holdNext('read');
    const releaseData = redis.holdNext('read');
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    expect(a.names()).toContain('ready');
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a1');
    releaseReady();
    await settle();
    // a knows b now, but a1 still waits: a2 goes after it.
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a2');
    releaseData();
    await settle();
    expect(b.sentEncoded).toEqual(['a1', 'a2']);
    expect(a.all('error')).toEqual([]);
    // With nothing waiting and the partner known, data is relayed at once, not queued.
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a3');
    expect(nodes[0].namespace.stats.relayedMessages).toBe(3);
    await settle();
    expect(b.sentEncoded).toEqual(['a1', 'a2', 'a3']);
  });

  it('relays at once again once the data that waited for the room to be read has gone', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const releaseReady = redis.holdNext('read');
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a1');
    await settle();
    expect(b.sentEncoded).toEqual(['a1']);
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'a2');
    expect(nodes[0].namespace.stats.relayedMessages).toBe(2);
    releaseReady();
    await settle();
    expect(b.sentEncoded).toEqual(['a1', 'a2']);
  });

  it('sends no token to a peer that went while its partner was being read', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const releaseReady = redis.holdNext('read');
    await admit(nodes[1], socketFor({ room: 'r' }));
    expect(a.names().at(-1)).toBe('ready');
    nodes[0].namespace.disconnect(a, 'client namespace disconnect', false);
    a.clear();
    releaseReady();
    await settle();
    expect(a.emitted).toEqual([]);
  });

  it('relays at once to a partner known from the join, without reading the room', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    redis.failNext('read');
    nodes[1].namespace.event(b, 'data', [offer], undefined, 'b1');
    expect(nodes[1].namespace.stats.relayedMessages).toBe(1);
    await settle();
    expect(a.sentEncoded).toEqual(['b1']);
    expect(b.all('error')).toEqual([]);
  });

  it('delivers on this node when both peers are here, and encodes the packet when there is no text to forward', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[0], socketFor({ room: 'r' }));
    nodes[0].namespace.event(b, 'data', [offer], undefined, undefined);
    nodes[0].namespace.event(b, 'data', [offer, 'more'], undefined, 'not this');
    await settle();
    const encoded = `2${JSON.stringify(['data', offer])}`;
    expect(a.sentEncoded).toEqual([encoded, encoded]);
    expect(b.all('error')).toEqual([]);
    expect(nodes[0].namespace.stats.relayedBytes).toBe(2 * encoded.length);
  });

  it('answers data with no partner with no-peer, and counts it', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    a.clear();
    const ack = vi.fn();
    nodes[0].namespace.event(a, 'data', [offer], ack, 'text');
    await settle();
    expect(a.emitted).toEqual([['error', SignalingError.noPeer().toPayload()]]);
    expect(ack).toHaveBeenCalledTimes(1);
    expect(nodes[0].namespace.stats).toMatchObject({ relayedMessages: 0, dropped: { noPeer: 1 } });
  });

  it('answers no-peer when the partner has no node any more, and unavailable when the relay fails', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    redis.seats.delete(a.id);
    b.clear();
    nodes[1].namespace.event(b, 'data', [offer], undefined, 'lost');
    await settle();
    expect(b.emitted).toEqual([['error', SignalingError.noPeer().toPayload()]]);
    expect(nodes[1].namespace.stats).toMatchObject({ relayedMessages: 1, dropped: { noPeer: 1 } });
    b.clear();
    redis.failNext('relay');
    nodes[1].namespace.event(b, 'data', [offer], undefined, 'failed');
    await settle();
    expect(b.emitted).toEqual([
      ['error', SignalingError.unavailable('Redis is unavailable: relay did not happen.').toPayload()],
    ]);
    expect(a.sentEncoded).toEqual([]);
  });

  it('answers a bad payload with bad-payload before asking the cluster anything', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    a.clear();
    nodes[0].namespace.event(a, 'data', ['nope'], undefined, 'text');
    await settle();
    expect(a.all('error')).toEqual([[expect.objectContaining({ code: 'bad-payload' })]]);
    expect(nodes[0].namespace.stats.dropped).toMatchObject({ badPayload: 1, noPeer: 0 });
  });

  it('keeps the seat it knew when its room is gone from Redis, and goes on carrying out effects for it', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    redis.rooms.delete('r');
    a.clear();
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'text');
    await settle();
    expect(a.all('error')).toEqual([[SignalingError.noPeer().toPayload()]]);
    nodes[0].namespace.runClusterEffect({ type: 'notifyPeerLeft', params: { peerId: a.id } }, 'r');
    expect(a.names()).toEqual(['error', 'peer-left', 'resume-token']);
    expect(warnings).toEqual([]);
  });

  it('keeps the seat it knew when reading the room fails, and says so in the log', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    a.clear();
    redis.failNext('read');
    nodes[0].namespace.event(a, 'data', [offer], undefined, 'text');
    await settle();
    expect(a.all('error')).toEqual([[SignalingError.noPeer().toPayload()]]);
    expect(warnings).toEqual([
      {
        fields: { peerId: a.id, error: 'Redis is unavailable: read did not happen.' },
        message: 'cluster: could not read a room',
      },
    ]);
  });
});

describe('leaving through the cluster', () => {
  it('releases the seat of a socket that went: the partner on another node is told, and the peer is unseated', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    a.clear();
    nodes[1].namespace.disconnect(b, 'client namespace disconnect', false);
    await settle();
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
    expect(grantOf(a.lastToken())).toEqual({ peerId: a.id, role: 'impolite', partnerId: undefined });
    expect(redis.seats.has(b.id)).toBe(false);
    expect(nodes[1].namespace.hostsPeer(b.id)).toBe(false);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`]);
    // a now waits: it relays nowhere, and the next to join makes it offer.
    a.clear();
    nodes[0].namespace.event(a, 'data', [{ type: 'offer', sdp: 'x' }], undefined, 't');
    await settle();
    expect(a.all('error')).toEqual([[SignalingError.noPeer().toPayload()]]);
    await admit(nodes[1], socketFor({ room: 'r' }));
    expect(a.names()).toContain('ready');
  });

  it('tells the polite peer that stays peer-left with a token in its own role', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    b.clear();
    nodes[0].namespace.disconnect(a, 'client namespace disconnect', false);
    await settle();
    expect(b.names()).toEqual(['peer-left', 'resume-token']);
    expect(grantOf(b.lastToken())).toEqual({ peerId: b.id, role: 'polite', partnerId: undefined });
  });

  it('releases the seat of a peer the directory has lost track of', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    redis.seats.delete(b.id);
    a.clear();
    nodes[1].namespace.disconnect(b, 'transport close', false);
    await settle();
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`]);
  });

  it('holds the seat of a socket held for recovery: the room steps room.drop, nobody is told', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    a.clear();
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:away`]);
    expect(a.emitted).toEqual([]);
    expect(redis.seats.get(b.id)).toBe('node-1');
    // Its window passes: released.
    nodes[1].namespace.expired(b);
    await settle();
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
    expect(redis.seats.has(b.id)).toBe(false);
  });

  it('holds its peers’ seats away when the server shuts down, and keeps them when they expire after', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    const c = await admit(nodes[1], socketFor({ room: 's' }));
    nodes[1].namespace.disconnect(b, 'server shutting down', false);
    nodes[1].namespace.expired(c);
    await settle();
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:away`]);
    expect(ids(redis.rooms.get('s'))).toEqual([`${c.id}:here`]);
    expect(a.names()).not.toContain('peer-left');
  });

  it('lets a seat that moved to another node keep it: only this node’s hold ends', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    redis.seats.set(b.id, 'node-0');
    a.clear();
    nodes[1].namespace.disconnect(b, 'transport close', false);
    await settle();
    expect(a.emitted).toEqual([]);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:here`]);
    expect(redis.seats.get(b.id)).toBe('node-0');
  });

  it('warns, and tells nobody, when Redis does not take a release or a drop', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    redis.failNext('step');
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    redis.failNext('locate');
    nodes[0].namespace.disconnect(a, 'transport close', false);
    await settle();
    expect(warnings).toEqual([
      {
        fields: { peerId: b.id, error: 'Redis is unavailable: step did not happen.' },
        message: 'cluster: could not feed room.drop',
      },
      {
        fields: { peerId: a.id, error: 'Redis is unavailable: locate did not happen.' },
        message: 'cluster: could not release a seat',
      },
    ]);
  });

  it('waits for the writes of sockets that went, and says how many were left when time ran out', async () => {
    const { redis, nodes } = cluster();
    expect(await nodes[0].namespace.settleClusterWrites(1_000)).toBe(0);
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[0], socketFor({ room: 's' }));
    const release = redis.holdNext('step');
    nodes[0].namespace.disconnect(a, 'transport close', true);
    nodes[0].namespace.disconnect(b, 'transport close', false);
    // The drop is held: time runs out with it in flight, the release done.
    expect(await nodes[0].namespace.settleClusterWrites(50)).toBe(1);
    release();
    // The leave's unseat, started after its step, is waited for too.
    expect(await nodes[0].namespace.settleClusterWrites(1_000)).toBe(0);
    expect(redis.seats.has(b.id)).toBe(false);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:away`]);
  });

  it('waits for writes started while it waits', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[0], socketFor({ room: 's' }));
    const releaseFirst = redis.holdNext('step');
    const releaseSecond = redis.holdNext('step');
    nodes[0].namespace.disconnect(a, 'transport close', true);
    let left: number | undefined;
    const settled = nodes[0].namespace.settleClusterWrites(5_000).then((count) => (left = count));
    await settle();
    nodes[0].namespace.disconnect(b, 'transport close', true);
    releaseFirst();
    await settle();
    expect(left).toBeUndefined();
    releaseSecond();
    await settled;
    expect(left).toBe(0);
    expect(ids(redis.rooms.get('s'))).toEqual([`${b.id}:away`]);
  });

  it('forgets a socket that moved to another node without releasing its seat', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    a.clear();
    nodes[1].namespace.moved(b);
    await settle();
    expect(nodes[1].namespace.hostsPeer(b.id)).toBe(false);
    expect(redis.seats.has(b.id)).toBe(false);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:here`]);
    expect(a.emitted).toEqual([]);
    // A socket it does not host: nothing.
    nodes[1].namespace.moved(socketFor({ room: 'r' }));
    // Nor one another connection took over.
    const d = await admit(nodes[1], socketFor({ room: 't' }));
    const d2 = await admit(nodes[1], socketFor({ room: 't', resume: d.lastToken() }));
    nodes[1].namespace.moved(d);
    await settle();
    expect(nodes[1].namespace.peerIdOf(d2.id)).toBe(d.id);
    expect(redis.seats.get(d.id)).toBe('node-1');
    const c = await admit(nodes[1], socketFor({ room: 's' }));
    redis.failNext('unseat');
    nodes[1].namespace.moved(c);
    await settle();
    expect(warnings.map((w) => w.message)).toEqual(['cluster: could not forget a moved seat']);
  });
});

describe('recovery and resumes through the cluster', () => {
  it('gives a recovered socket its seat back with room.back, telling it nothing', async () => {
    const { redis, nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    b.clear();
    b.recovered = true;
    await admit(nodes[1], b);
    expect(b.emitted).toEqual([]);
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:here`]);
    expect(nodes[1].steps.at(-1)?.event).toEqual({ type: 'room.back', peerId: b.id });
    // Its own node: nothing waited for it elsewhere.
    expect(nodes[1].arrivals).toEqual([]);
    // Still in the call: data flows.
    nodes[1].namespace.event(b, 'data', [{ type: 'offer', sdp: 'x' }], undefined, 'after');
    await settle();
    expect(a.sentEncoded).toEqual(['after']);
  });

  it('takes over a socket recovered from another node, and says it arrived', async () => {
    const { redis, nodes } = cluster(2, { inspector: undefined });
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    // Its session, with its data, came to node 0 (cluster-sessions.ts seated it there).
    redis.seats.set(b.id, 'node-0');
    const moved = new FakeSocket(b.id, { room: 'r' });
    moved.data = b.data;
    moved.recovered = true;
    await admit(nodes[0], moved);
    expect(nodes[0].arrivals).toEqual([b.id]);
    expect(moved.emitted).toEqual([]);
    expect(nodes[0].namespace.hostsPeer(b.id)).toBe(true);
    nodes[0].namespace.event(a, 'data', [{ type: 'offer', sdp: 'x' }], undefined, 'here');
    await settle();
    expect(moved.sentEncoded).toEqual(['here']);
  });

  it('refuses a recovery Redis does not take with unavailable, and forgets a socket from another node', async () => {
    const { redis, nodes } = cluster();
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    const moved = new FakeSocket(b.id, { room: 'r' });
    moved.data = b.data;
    moved.recovered = true;
    redis.failNext('step');
    expect(await nodes[0].namespace.connect(moved)).toMatchObject({ data: { code: 'unavailable' } });
    expect(nodes[0].namespace.hostsPeer(b.id)).toBe(false);
    // What waited for it on this node is let go.
    expect(nodes[0].arrivals).toEqual([b.id]);
    b.recovered = true;
    redis.failNext('step');
    expect(await nodes[1].namespace.connect(b)).toMatchObject({ data: { code: 'unavailable' } });
    // Its own node still holds it, and nothing waited for it there.
    expect(nodes[1].namespace.hostsPeer(b.id)).toBe(true);
    expect(nodes[1].arrivals).toEqual([]);
  });

  it('takes a recovered socket whose seat is gone as a fresh join, on its node or another', async () => {
    const { redis, nodes } = cluster();
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    redis.rooms.delete('r');
    const moved = new FakeSocket(newPeerIdentity(), { room: 'r' });
    moved.data = b.data;
    moved.recovered = true;
    await admit(nodes[0], moved);
    expect(moved.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    // A fresh join: its identity is its socket id; the old one is not hosted here.
    expect(nodes[0].namespace.peerIdOf(moved.id)).toBe(moved.id);
    expect(nodes[0].namespace.hostsPeer(b.id)).toBe(false);
  });

  it('takes a recovered socket whose data did not travel as a fresh join', async () => {
    const { nodes } = cluster();
    const moved = socketFor({ room: 'r' });
    moved.recovered = true;
    await admit(nodes[0], moved);
    expect(moved.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
  });

  it('recovers a socket that resumed, and whose seat went, as a resume again, without replacing itself', async () => {
    const before = cluster();
    await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes } = cluster();
    const b = await admit(nodes[0], socketFor({ room: 'r', resume: b0.lastToken() }));
    nodes[0].namespace.disconnect(b, 'transport close', true);
    await settle();
    redis.rooms.delete('r');
    b.clear();
    b.recovered = true;
    await admit(nodes[0], b);
    expect(b.disconnects).toBe(0);
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    expect(nodes[0].namespace.peerIdOf(b.id)).toBe(b0.id);
  });

  it('skips a socket whose recovery is still being decided when it takes seats back', async () => {
    const { redis, nodes, warnings } = cluster();
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    const moved = new FakeSocket(b.id, { room: 'r' });
    // What travels between nodes: the membership without its seat.
    const { seat: _seat, early: _early, ...travelled } = b.data as Record<string, unknown>;
    moved.data = { ...travelled, arrival: 'recovered' };
    moved.recovered = true;
    const release = redis.holdNext('step');
    const recovering = nodes[0].namespace.connect(moved);
    await settle();
    const steps = nodes[0].steps.length;
    await nodes[0].namespace.reseatAll();
    expect(nodes[0].steps.length).toBe(steps);
    expect(warnings).toEqual([]);
    release();
    expect(await recovering).toBeUndefined();
  });

  it('takes a recovered socket that another socket replaced as a fresh connect', async () => {
    const { nodes } = cluster();
    const b = await admit(nodes[0], socketFor({ room: 'r' }));
    const stale = new FakeSocket(newPeerIdentity(), { room: 's' });
    stale.data = b.data;
    stale.recovered = true;
    await admit(nodes[0], stale);
    expect(stale.all('role')).toEqual([[{ room: 's', role: 'impolite' }]]);
    expect(nodes[0].steps.map((s) => s.event.type)).not.toContain('room.back');
  });

  it('re-forms a room from resume tokens after a restart, expecting the partner, and frees its seat after the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    const a0 = await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes } = cluster(2, { holdWindowMs: 5_000 });
    const b = await admit(nodes[1], socketFor({ room: 'r', resume: b0.lastToken() }));
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    expect(b.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(grantOf(b.lastToken())).toEqual({ peerId: b0.id, role: 'polite', partnerId: a0.id });
    expect(ids(redis.rooms.get('r'))).toEqual([`${b0.id}:here`, `${a0.id}:expected`]);
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(ids(redis.rooms.get('r'))).toEqual([`${b0.id}:here`]);
    expect(b.names().slice(-2)).toEqual(['peer-left', 'resume-token']);
  });

  it('keeps the expected seat of a partner that came back within the window, on any node', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    const a0 = await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes, warnings } = cluster(2, { holdWindowMs: 5_000 });
    const b = await admit(nodes[1], socketFor({ room: 'r', resume: b0.lastToken() }));
    const a = await admit(nodes[0], socketFor({ room: 'r', resume: a0.lastToken() }));
    expect(a.all('role')).toEqual([[{ room: 'r', role: 'impolite', resumed: true }]]);
    expect(a.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    b.clear();
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(ids(redis.rooms.get('r'))).toEqual([`${b0.id}:here`, `${a0.id}:here`]);
    expect(b.emitted).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('sets one expiry per expected seat, and warns when it cannot free it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    const a0 = await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes, warnings } = cluster(1, { holdWindowMs: 5_000 });
    const b = await admit(nodes[0], socketFor({ room: 'r', resume: b0.lastToken() }));
    // It resumes again (a second connection): no second expiry for the same seat.
    await admit(nodes[0], socketFor({ room: 'r', resume: b.lastToken() }));
    expect(b.disconnects).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    redis.failNext('read');
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(warnings).toEqual([
      {
        fields: { peerId: a0.id, error: 'Redis is unavailable: read did not happen.' },
        message: 'cluster: could not free an expected seat',
      },
    ]);
    expect(ids(redis.rooms.get('r'))).toEqual([`${b0.id}:here`, `${a0.id}:expected`]);
  });

  it('frees the expected seats of two rooms, each after its own window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    await admit(before.nodes[0], socketFor({ room: 's' }));
    const d0 = await admit(before.nodes[1], socketFor({ room: 's' }));
    const { redis, nodes } = cluster(1, { holdWindowMs: 5_000 });
    await admit(nodes[0], socketFor({ room: 'r', resume: b0.lastToken() }));
    vi.advanceTimersByTime(1_000);
    await admit(nodes[0], socketFor({ room: 's', resume: d0.lastToken() }));
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(4_000);
    await settle();
    expect(redis.rooms.get('r')?.context.peers).toHaveLength(1);
    expect(redis.rooms.get('s')?.context.peers).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(redis.rooms.get('s')?.context.peers).toHaveLength(1);
  });

  it('does not free an expected seat in a room its returner left, now someone else’s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes, warnings } = cluster(1, { holdWindowMs: 5_000 });
    const b = await admit(nodes[0], socketFor({ room: 'r', resume: b0.lastToken() }));
    nodes[0].namespace.disconnect(b, 'client namespace disconnect', false);
    await settle();
    expect(redis.rooms.has('r')).toBe(false);
    await admit(nodes[0], socketFor({ room: 'r' }));
    await admit(nodes[0], socketFor({ room: 'r' }));
    const steps = nodes[0].steps.length;
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(nodes[0].steps.length).toBe(steps);
    expect(warnings).toEqual([]);
  });

  it('does not free an expected seat whose room is gone', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = cluster();
    await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { redis, nodes, warnings } = cluster(1, { holdWindowMs: 5_000 });
    await admit(nodes[0], socketFor({ room: 'r', resume: b0.lastToken() }));
    redis.rooms.delete('r');
    const steps = nodes[0].steps.length;
    vi.advanceTimersByTime(5_000);
    await settle();
    expect(nodes[0].steps.length).toBe(steps);
    expect(warnings).toEqual([]);
  });

  it('tells a returner whose partner left meanwhile peer-left, and one that waited and has a new partner ready', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    const aToken = a.lastToken();
    const bToken = b.lastToken();
    nodes[0].namespace.disconnect(a, 'transport close', true);
    nodes[1].namespace.disconnect(b, 'client namespace disconnect', false);
    await settle();
    // a is alone and away; a newcomer takes b's seat.
    const c = await admit(nodes[1], socketFor({ room: 'r' }));
    const a2 = await admit(nodes[1], socketFor({ room: 'r', resume: aToken }));
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite', resumed: true }]]);
    expect(a2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'peer-left', 'ready']);
    expect(a.disconnects).toBe(0);
    expect(grantOf(a2.lastToken())?.partnerId).toBe(c.id);
    // b's old token: b is no member any more, and the room is full.
    expect(await nodes[0].namespace.connect(socketFor({ room: 'r', resume: bToken }))).toMatchObject({
      data: { code: 'room-full' },
    });
  });

  it('tells a returner that waited alone, and has a partner now, ready and no peer-left', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const token = a.lastToken();
    nodes[0].namespace.disconnect(a, 'transport close', true);
    await settle();
    await admit(nodes[1], socketFor({ room: 'r' }));
    const a2 = await admit(nodes[1], socketFor({ room: 'r', resume: token }));
    expect(a2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'ready']);
  });

  it('tells a returner that joined second, whose partner left, peer-left and no ready', async () => {
    const { nodes } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[1], socketFor({ room: 'r' }));
    const bToken = b.lastToken();
    nodes[1].namespace.disconnect(b, 'transport close', true);
    await settle();
    nodes[0].namespace.disconnect(a, 'client namespace disconnect', false);
    await settle();
    const b2 = await admit(nodes[0], socketFor({ room: 'r', resume: bToken }));
    expect(b2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'peer-left']);
  });

  it('sends a returner seated afresh in a waiting room no resync', async () => {
    const before = cluster();
    await admit(before.nodes[0], socketFor({ room: 'r' }));
    const b0 = await admit(before.nodes[1], socketFor({ room: 'r' }));
    const { nodes } = cluster();
    const c = await admit(nodes[0], socketFor({ room: 'r' }));
    c.clear();
    const b = await admit(nodes[1], socketFor({ room: 'r', resume: b0.lastToken() }));
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite' }]]);
    expect(b.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(c.names()).toEqual(['ready', 'resume-token']);
  });
});

describe('after an eviction', () => {
  it('takes every seat back with room.resume, and holds the seat of a socket that is away', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[0], socketFor({ room: 'r' }));
    const c = await admit(nodes[0], socketFor({ room: 's' }));
    nodes[0].namespace.disconnect(b, 'transport close', true);
    await settle();
    // Redis restarted empty.
    redis.rooms.clear();
    redis.seats.clear();
    b.connected = false;
    await nodes[0].namespace.reseatAll();
    expect(ids(redis.rooms.get('r'))).toEqual([`${a.id}:here`, `${b.id}:away`]);
    expect(ids(redis.rooms.get('s'))).toEqual([`${c.id}:here`]);
    expect(redis.seats.get(a.id)).toBe('node-0');
    expect(redis.seats.get(b.id)).toBe('node-0');
    expect(warnings).toEqual([]);
  });

  it('leaves a seat it could not take back, warning about each failure and going on with the others', async () => {
    const { redis, nodes, warnings } = cluster();
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    const b = await admit(nodes[0], socketFor({ room: 's' }));
    redis.rooms.clear();
    redis.seats.clear();
    // Someone else took room r meanwhile: a is refused.
    redis.rooms.set(
      'r',
      redis.stepper.step(
        redis.stepper.step(redis.stepper.initial({ room: 'r' })[0], { type: 'room.join', peerId: 'x' })[0],
        { type: 'room.join', peerId: 'y' },
      )[0],
    );
    redis.failNext('seat');
    await nodes[0].namespace.reseatAll();
    expect(redis.seats.has(a.id)).toBe(false);
    expect(warnings).toEqual([
      {
        fields: { peerId: b.id, error: 'Redis is unavailable: seat did not happen.' },
        message: 'could not take a seat back after an eviction',
      },
    ]);
  });

  it('does nothing without a cluster', async () => {
    const alone = new SignalingNamespace({ turn: TURN, resumeSecret: RESUME_SECRET });
    await expect(alone.reseatAll()).resolves.toBeUndefined();
    expect(await alone.settleClusterWrites(10)).toBe(0);
  });
});

describe('without a log', () => {
  it('reports cluster failures nowhere, and carries on', async () => {
    const redis = new FakeRedis();
    const node = new FakeNode('node-0', redis);
    node.namespace = new SignalingNamespace({
      turn: TURN,
      resumeSecret: RESUME_SECRET,
      cluster: node as unknown as RoomCluster,
    });
    const a = await admit(node, socketFor({ room: 'r' }));
    redis.failNext('read');
    node.namespace.event(a, 'data', [{ type: 'offer', sdp: 'x' }], undefined, 'text');
    await settle();
    expect(a.all('error')).toEqual([[SignalingError.noPeer().toPayload()]]);
    redis.rooms.clear();
    redis.failNext('step');
    await expect(node.namespace.reseatAll()).resolves.toBeUndefined();
  });
});

describe('the inspector with a cluster', () => {
  it('takes a batch from a peer seated in Redis, and refuses one that left', async () => {
    const batches: unknown[] = [];
    const left: string[] = [];
    const inspector: SignalingInspector = {
      rooms: { roomOpened: () => {}, roomChanged: () => {}, roomDisposed: () => {} },
      publishPeerBatch: (peer, batch) => {
        batches.push([peer.socketId, peer.room, batch, [...peer.secrets]]);
        return undefined;
      },
      peerLeft: (socketId) => left.push(socketId),
    };
    const { nodes } = cluster(2, { inspector });
    const a = await admit(nodes[0], socketFor({ room: 'r' }));
    expect(a.names()).toEqual(['role', 'inspector', 'ice-servers', 'resume-token']);
    nodes[0].namespace.event(a, 'inspect', [['x']], undefined, undefined);
    expect(batches).toEqual([[a.id, 'r', ['x'], [a.lastToken()]]]);
    const withSecret = await admit(nodes[1], socketFor({ room: 'q', secret: 'room-pw' }));
    nodes[1].namespace.event(withSecret, 'inspect', [['y']], undefined, undefined);
    expect(batches.at(-1)).toEqual([
      withSecret.id,
      expect.stringMatching(/^q~/),
      ['y'],
      ['room-pw', withSecret.lastToken()],
    ]);
    // Recovered: asked to publish again.
    nodes[0].namespace.disconnect(a, 'transport close', true);
    await settle();
    a.clear();
    a.recovered = true;
    await admit(nodes[0], a);
    expect(a.emitted).toEqual([['inspector', { enabled: true }]]);
    nodes[0].namespace.disconnect(a, 'client namespace disconnect', false);
    await settle();
    expect(left).toEqual([a.id]);
    const b = await admit(nodes[1], socketFor({ room: 's' }));
    nodes[1].namespace.moved(b);
    expect(left).toEqual([a.id, b.id]);
  });
});
