/**
 * The engine's side of recovery across nodes (src/signaling/engine/shared-session-store.ts),
 * without Redis: two engines in this process share a store that stands in for the cluster
 * (records by pid, claims that ask the holding engine to hand its socket over). A stock
 * socket.io-client moved from one engine to the other gets its socket back, with what was
 * emitted to it meanwhile, in order, once; a dead holder's kept packets are filtered by the
 * client's offset; a store that fails gives a fresh socket.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { startEngine, type TestEngine } from './helpers/engine-server.js';
import { recoveryNamespace, type RecoveryNamespace } from './helpers/recovery-namespace.js';
import type { ServerSocket } from '../src/signaling/engine/namespace-handler.js';
import type { HeldLog, SharedClaim, SharedSessionStore } from '../src/signaling/engine/shared-session-store.js';
import { ConnectionStateRecovery } from '../src/signaling/engine/connection-state-recovery.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisSessionStore } from '../src/signaling/cluster/redis-session-store.js';
import { ClusterSessions } from '../src/signaling/cluster/cluster-sessions.js';
import { startRedisServer } from './helpers/redis-server.js';

interface FakeRecord {
  sid: string;
  nsp: string;
  data: unknown;
  node: string;
  generation: number;
  held: { -readonly [K in keyof HeldLog]: HeldLog[K] } | undefined;
}

/** The cluster in one process: records by pid, and the engines by node name. */
class FakeCluster {
  readonly records = new Map<string, FakeRecord>();
  readonly engines = new Map<string, TestEngine>();
  readonly dead = new Set<string>();
  failing = false;

  storeOf(node: string): SharedSessionStore {
    return {
      track: (socket) => {
        this.records.set(socket.pid, { ...socket, sid: socket.id, node, held: undefined });
      },
      release: (socket) => {
        const record = this.records.get(socket.pid);
        if (record?.node === node && record.generation === socket.generation) this.records.delete(socket.pid);
      },
      persist: (socket, held) => {
        const record = this.records.get(socket.pid);
        if (record !== undefined) record.held = { ...held, packets: [...held.packets] };
      },
      append: (socket, kept) => {
        (this.records.get(socket.pid)?.held?.packets as unknown[] | undefined)?.push(kept);
      },
      claim: (pid, nsp, offset) => Promise.resolve().then(() => this.#claim(node, pid, nsp, offset)),
    };
  }

  /** A claim as the cluster makes it: take the record, ask the holder unless it is dead. */
  #claim(node: string, pid: string, nsp: string, offset: string | undefined): SharedClaim | undefined {
    if (this.failing) throw new Error('the shared store is unreachable');
    const record = this.records.get(pid);
    if (record === undefined || record.nsp !== nsp || record.node === node) return undefined;
    this.records.delete(pid);
    if (this.dead.has(record.node)) return { sid: record.sid, data: record.data, replay: [], held: record.held };
    const answer = this.engines.get(record.node)!.engine.handOverSession({
      pid,
      nsp,
      generation: record.generation,
      offset,
    });
    return answer?.outcome === 'moved' ? { sid: record.sid, data: record.data, replay: answer.replay } : undefined;
  }
}

let cluster: FakeCluster;
let a: TestEngine;
let b: TestEngine;
let nsA: RecoveryNamespace & { moved: (socket: ServerSocket) => void };
let nsB: RecoveryNamespace;
const movedAway: ServerSocket[] = [];
const clients: Socket[] = [];

beforeEach(async () => {
  cluster = new FakeCluster();
  movedAway.length = 0;
  const base = recoveryNamespace();
  nsA = {
    ...base,
    // What the application keeps on the socket, set before CONNECT is answered (as the signaling app does).
    connect: (socket) => {
      socket.data = { seat: 7 };
      return base.connect(socket);
    },
    moved: (socket) => movedAway.push(socket),
  };
  // The recording handler keeps its state in closures: a spread copy records into the same arrays.
  nsB = recoveryNamespace();
  a = await startEngine({ connectionStateRecovery: {} }, { '/': nsA });
  b = await startEngine({ connectionStateRecovery: {} }, { '/': nsB });
  for (const [name, engine] of [
    ['a', a],
    ['b', b],
  ] as const) {
    cluster.engines.set(name, engine);
    engine.engine.shareSessions(cluster.storeOf(name));
  }
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  a.stop();
  b.stop();
});

/** A stock client connected to `url`, recording `message-back` arguments (without offsets). */
async function connect(url: string): Promise<{ socket: Socket; messages: unknown[] }> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  clients.push(socket);
  const messages: unknown[] = [];
  socket.on('message-back', (value: unknown) => messages.push(value));
  await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
  return { socket, messages };
}

/** Drops the client's transport, waits until `ns` holds its socket, and reconnects it to `url`. */
async function moveTo(socket: Socket, url: string): Promise<void> {
  const dropped = new Promise((resolve) => socket.once('disconnect', () => resolve(undefined)));
  socket.io.engine.close();
  await dropped;
  (socket.io as unknown as { uri: string }).uri = url;
  const back = new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
  socket.connect();
  await back;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('recovery across engines sharing a session store', () => {
  it('gives a moved client its socket back on the other engine, with what was emitted to it meanwhile', async () => {
    const { socket, messages } = await connect(a.url);
    const id = socket.id;
    const held = nsA.sockets[0];
    held.emit('message-back', 'before');
    await until(() => messages.length === 1);
    const dropped = new Promise((resolve) => socket.once('disconnect', () => resolve(undefined)));
    socket.io.engine.close();
    await dropped;
    await until(() => nsA.callsOf(held).includes('disconnect(transport close, held)'));
    for (let i = 0; i < 5; i++) held.emit('message-back', `held-${i}`);
    (socket.io as unknown as { uri: string }).uri = b.url;
    const back = new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    socket.connect();
    await back;
    expect(socket.recovered).toBe(true);
    expect(socket.id).toBe(id);
    await until(() => messages.length === 6);
    expect(messages).toEqual(['before', 'held-0', 'held-1', 'held-2', 'held-3', 'held-4']);
    // On B: the same id and data, recovered; on A: moved away, not expired nor left.
    const recovered = nsB.sockets[0];
    expect(recovered.id).toBe(id);
    expect(recovered.recovered).toBe(true);
    expect(recovered.data).toEqual({ seat: 7 });
    expect(movedAway).toEqual([held]);
    expect(nsA.callsOf(held)).toEqual(['connect', 'connected', 'disconnect(transport close, held)']);
    expect(cluster.records.get((socket as unknown as { _pid: string })._pid)?.node).toBe('b');
    // It drops again and comes back to B: what B replayed was retained there with B's offsets.
    recovered.emit('message-back', 'on-b');
    await until(() => messages.length === 7);
    await moveTo(socket, b.url);
    expect(socket.recovered).toBe(true);
    recovered.emit('message-back', 'again');
    await until(() => messages.length === 8);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages.slice(6)).toEqual(['on-b', 'again']);
  });

  it('replays what a dead holder kept, after the offset the client read', async () => {
    const { socket, messages } = await connect(a.url);
    const id = socket.id;
    const held = nsA.sockets[0];
    held.emit('message-back', 'read');
    await until(() => messages.length === 1);
    const dropped = new Promise((resolve) => socket.once('disconnect', () => resolve(undefined)));
    socket.io.engine.close();
    await dropped;
    await until(() => nsA.callsOf(held).includes('disconnect(transport close, held)'));
    held.emit('message-back', 'kept-0');
    held.emit('message-back', 'kept-1');
    cluster.dead.add('a');
    (socket.io as unknown as { uri: string }).uri = b.url;
    const back = new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    socket.connect();
    await back;
    expect(socket.recovered).toBe(true);
    expect(socket.id).toBe(id);
    await until(() => messages.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages).toEqual(['read', 'kept-0', 'kept-1']);
  });

  it('keeps a socket recovered on its own node meanwhile: a claim of the older generation is refused', async () => {
    const { socket } = await connect(a.url);
    const pid = (socket as unknown as { _pid: string })._pid;
    expect(cluster.records.get(pid)?.generation).toBe(0);
    await moveTo(socket, a.url);
    expect(socket.recovered).toBe(true);
    await until(() => cluster.records.get(pid)?.generation === 1);
    const offset = (socket as unknown as { _lastOffset?: string })._lastOffset;
    // Another node took the record of generation 0 before A wrote generation 1: A keeps its socket.
    const answer = a.engine.handOverSession({ pid, nsp: '/', generation: 0, offset });
    expect(answer?.outcome).toBe('kept');
    expect(movedAway).toEqual([]);
    expect(socket.connected).toBe(true);
    // Of the current generation, it is handed over (the client moved again).
    expect(a.engine.handOverSession({ pid, nsp: '/', generation: 1, offset })?.outcome).toBe('moved');
    expect(movedAway).toHaveLength(1);
    expect(a.engine.handOverSession({ pid, nsp: '/', generation: 1, offset })).toBeUndefined();
  });

  it('gives a fresh socket, and no crash, when the shared store cannot be reached', async () => {
    const { socket } = await connect(a.url);
    const id = socket.id;
    cluster.failing = true;
    await moveTo(socket, b.url);
    expect(socket.recovered).toBe(false);
    expect(socket.id).not.toBe(id);
    expect(nsB.sockets).toHaveLength(1);
    expect(nsB.sockets[0].recovered).toBe(false);
  });
});

describe('what a dead holder kept', () => {
  const held: HeldLog = {
    tag: 'AbCdEfGh',
    first: 10,
    floor: 11,
    windowMillis: 0,
    packets: [12, 13, 14].map((offset) => ({ offset, packet: `2["m",${offset}]` })),
  };

  it('is replayed after the client offset, whole for a client that read nothing of it, not at all below the floor', () => {
    expect(ConnectionStateRecovery.replayOfHeld(held, 'AbCdEfGh.c')).toEqual(['2["m",13]', '2["m",14]']);
    expect(ConnectionStateRecovery.replayOfHeld(held, 'AbCdEfGh.e')).toEqual([]);
    expect(ConnectionStateRecovery.replayOfHeld(held, 'AbCdEfGh.b')).toEqual(['2["m",12]', '2["m",13]', '2["m",14]']);
    // Read below what the holder still had: cannot be told exactly.
    expect(ConnectionStateRecovery.replayOfHeld(held, 'AbCdEfGh.a')).toBeUndefined();
    // An offset of another engine (or none): the client read nothing of this socket's, but the
    // holder had already dropped packets 10 and 11: a fresh socket.
    expect(ConnectionStateRecovery.replayOfHeld(held, 'other.5')).toBeUndefined();
    expect(ConnectionStateRecovery.replayOfHeld({ ...held, floor: 9 }, undefined)).toHaveLength(3);
  });
});

describe('cluster sessions when Redis is away', () => {
  it('claims nothing, without throwing, so the engine gives a fresh socket', async () => {
    const redis = await startRedisServer();
    const link = new RedisLink({ url: redis.url, role: 'commands' });
    await link.whenUp();
    await redis.stop();
    const warnings: string[] = [];
    const sessions = new ClusterSessions({
      store: new RedisSessionStore({ link }),
      routing: {
        nodeId: 'n',
        sendControl: () => Promise.resolve('sent'),
        seat: () => Promise.resolve(),
        unseat: () => Promise.resolve(),
        expect: () => {},
        arrived: () => {},
        movedTo: () => {},
      },
      data: { share: (data) => data, restore: (data) => data, seatOf: () => ({ peerId: 'p', room: 'r' }) },
      log: {
        warn: (_fields: unknown, message: string) => warnings.push(message),
        info: () => {},
        error: () => {},
      } as never,
    });
    try {
      expect(await sessions.claim('pid', '/', undefined)).toBeUndefined();
      expect(warnings).toEqual(['cluster: could not claim a session']);
    } finally {
      await link.close();
    }
  });
});
