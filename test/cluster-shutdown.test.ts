/**
 * A graceful stop (SIGTERM) of one `parley serve --redis` node among others, with real
 * processes on a real redis-server: the node's seats end held (away) at once, for the recovery
 * window, so that their peers resume on another node and their partners are told nothing; the
 * survivors release what is left only once that hold is over. Nothing is left to the dead-node
 * sweep, and nothing races the closing of the node's Redis connections.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';
import { NodeDirectory, type Seat } from '../src/signaling/cluster/node-directory.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { ClusterKeys } from '../src/signaling/cluster/cluster-keys.js';

let redis: RedisServer;
let reader: Redis;
/** The survivor: a short TTL, so that it sweeps every second and would release early if it could. */
let survivor: ParleyProcess;
let survivorUrl: string;
const nodes: ParleyProcess[] = [];
const clients: TestClient[] = [];
let roomCounter = 0;
const freshRoom = () => `stopping-${++roomCounter}`;

beforeAll(async () => {
  redis = await startRedisServer();
  reader = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await reader.connect();
  survivor = runParley(clusterNodeArgs(redis.url, 0, ['--node-ttl', '3']));
  nodes.push(survivor);
  survivorUrl = (await survivor.listening()).origin;
}, 60_000);
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
  reader?.disconnect();
  await redis?.stop();
});

async function join(url: string, room: string, auth?: Record<string, unknown>): Promise<TestClient> {
  const client = await connectClient(url, auth === undefined ? { room } : { auth: { room, ...auth } });
  clients.push(client);
  return client;
}

/** A node that will be stopped, its URL and its cluster node id (from its /healthz). */
async function startStopping(extra: string[]): Promise<{ node: ParleyProcess; url: string; id: string }> {
  const node = runParley(clusterNodeArgs(redis.url, 0, ['--drain-timeout', '5', ...extra]));
  nodes.push(node);
  const url = (await node.listening()).origin;
  const health = (await (await fetch(`${url}/healthz`)).json()) as { cluster: { node: string } };
  return { node, url, id: health.cluster.node };
}

/** Each member of room `name` in Redis, as `id:presence`. */
async function seatsIn(name: string): Promise<Record<string, string>> {
  const stored = await reader.get(`parley:room:${name}`);
  if (stored === null) return {};
  const { context } = JSON.parse(stored) as { context: { peers: Array<{ id: string; presence: string }> } };
  return Object.fromEntries(context.peers.map((peer) => [peer.id, peer.presence]));
}

async function lastToken(client: TestClient): Promise<string> {
  const tokens = await client.waitForCount('resume-token', 1);
  return (tokens.at(-1)!.args[0] as { token: string }).token;
}

function warningsOf(node: ParleyProcess): string[] {
  return node
    .records()
    .filter((record) => record.level >= 40)
    .map((record) => record.msg);
}

describe('SIGTERM of a --redis node', () => {
  it('holds its seats away at once for the recovery window; a peer resumes on another node and keeps its call', async () => {
    const stopping = await startStopping(['--recovery-window', '30']);
    const shared = freshRoom();
    const local = freshRoom();
    const a = await join(stopping.url, shared);
    const b = await join(survivorUrl, shared);
    await a.next('ready');
    const c = await join(stopping.url, local);
    await join(stopping.url, local);
    await c.next('ready');
    const aToken = await lastToken(a);
    const before = await seatsIn(shared);
    const [aId, bId] = Object.keys(before);
    expect(Object.values(before)).toEqual(['here', 'here']);

    expect(await stopping.node.stop('SIGTERM')).toBe(0);

    // At once, not after a sweep: the stopped node's peers are away, held; the survivor's is here.
    expect(await seatsIn(shared)).toEqual({ [aId]: 'away', [bId]: 'here' });
    expect(Object.values(await seatsIn(local))).toEqual(['away', 'away']);
    expect(await reader.exists(`parley:node:${stopping.id}:alive`)).toBe(0);
    const hold = await reader.pttl(`parley:node:${stopping.id}:leaving`);
    expect(hold).toBeGreaterThan(20_000);
    expect(hold).toBeLessThanOrEqual(30_000);
    expect(await reader.sismember('parley:nodes', stopping.id)).toBe(1);
    expect(Object.keys(await reader.hgetall(`parley:node:${stopping.id}:seats`)).sort()).toEqual(
      [aId, ...Object.keys(await seatsIn(local))].sort(),
    );
    // In order: every seat written before the node left, none cut off by the closing connections.
    expect(warningsOf(stopping.node)).toEqual([]);
    const left = stopping.node.records().find((record) => record.msg === 'left the cluster');
    expect(left).toMatchObject({ seats: 3, holdMillis: 30_000 });

    // The peer comes back through the survivor with its token: the same seat, the same call.
    const a2 = await join(survivorUrl, shared, { resume: aToken });
    expect((await a2.next('role')).args).toEqual([{ room: shared, role: 'impolite', resumed: true }]);
    expect(await seatsIn(shared)).toEqual({ [aId]: 'here', [bId]: 'here' });
    a2.socket.emit('data', candidateSignal('after-the-stop'));
    expect((await b.next('data')).args).toEqual([candidateSignal('after-the-stop')]);

    // Several of the survivor's sweeps later (TTL 3 s, a sweep a second) nothing was released.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(b.all('peer-left')).toEqual([]);
    expect(Object.values(await seatsIn(local))).toEqual(['away', 'away']);
    expect(await reader.sismember('parley:nodes', stopping.id)).toBe(1);
  }, 60_000);

  it('lets the survivors release what is left once the hold is over, telling the partner once', async () => {
    // Long enough that the node has exited and the seat is read while the hold still runs, also
    // on a machine busy with the rest of the suite (with 2 s, one CI run read it just after).
    const holdSeconds = 5;
    const stopping = await startStopping(['--recovery-window', String(holdSeconds)]);
    const room = freshRoom();
    const a = await join(stopping.url, room);
    const b = await join(survivorUrl, room);
    await a.next('ready');
    const [aId, bId] = Object.keys(await seatsIn(room));

    expect(await stopping.node.stop('SIGTERM')).toBe(0);
    const left = stopping.node.records().find((record) => record.msg === 'left the cluster');
    expect(left).toMatchObject({ seats: 1, holdMillis: holdSeconds * 1000 });
    expect(await seatsIn(room)).toEqual({ [aId]: 'away', [bId]: 'here' });

    // Nobody brings `a` back: once the hold is over (plus a sweep of the survivor) its seat is
    // freed, not before. (The hold starts when the node leaves, which its log line dates.)
    await b.next('peer-left', { timeoutMs: 15_000 });
    const waited = Date.now() - (left!.time as number);
    expect(waited).toBeGreaterThanOrEqual(holdSeconds * 1000);
    expect(waited).toBeLessThan(holdSeconds * 1000 + 5_000);
    console.log(`seats released ${waited} ms after the node left (hold ${holdSeconds * 1000} ms)`);
    expect(await seatsIn(room)).toEqual({ [bId]: 'here' });
    expect(await reader.sismember('parley:nodes', stopping.id)).toBe(0);
    expect(await reader.exists(`parley:node:${stopping.id}:seats`)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(b.all('peer-left')).toHaveLength(1);
    expect(warningsOf(stopping.node)).toEqual([]);
  }, 60_000);
});

describe('NodeDirectory.stop with a hold', () => {
  const links: RedisLink[] = [];
  afterAll(async () => {
    await Promise.all(links.map((link) => link.close()));
  });

  async function directory(nodeId: string, prefix: string, released: Seat[] = []): Promise<NodeDirectory> {
    const link = new RedisLink({ url: redis.url, role: nodeId });
    links.push(link);
    await link.whenUp();
    const made = new NodeDirectory({
      nodeId,
      link,
      heartbeatMillis: 100,
      // A cluster per test: the Parley processes above sweep `parley:`, and must not race these.
      keys: new ClusterKeys(prefix),
      releaseSeat: (seat) => {
        released.push(seat);
        return Promise.resolve();
      },
    });
    await made.start();
    return made;
  }

  it('keeps the survivors from releasing the seats until the hold is over, and a moved seat for good', async () => {
    const released: Seat[] = [];
    const survivor = await directory('dir-survivor', 'dir:', released);
    const leaving = await directory('dir-leaving', 'dir:');
    await leaving.seat('stays-away', 'room-1');
    await leaving.seat('moves', 'room-2');

    await leaving.stop({ holdSeatsMillis: 60_000 });
    // A second stop (ClusterNode.stop after the server's) changes nothing.
    await leaving.stop();
    expect(await survivor.isAlive('dir-leaving')).toBe(false);
    // Past several heartbeat periods of the stopped node: none of its beats brought it back.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await reader.exists('dir:node:dir-leaving:alive')).toBe(0);
    expect(await survivor.sweep()).toBe(0);
    expect(released).toEqual([]);

    // One peer resumes on the survivor; then the hold ends (cut short here).
    await survivor.seat('moves', 'room-2');
    await reader.pexpire('dir:node:dir-leaving:leaving', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await survivor.sweep();
    expect(released.filter((seat) => seat.room.startsWith('room-'))).toEqual([
      { peerId: 'stays-away', room: 'room-1' },
    ]);
    expect(await survivor.locate('moves')).toBe('dir-survivor');
    expect(await reader.sismember('dir:nodes', 'dir-leaving')).toBe(0);
    await survivor.stop();
  });

  it('without a hold leaves the seats to the survivors’ next sweep, as a dead node’s', async () => {
    const released: Seat[] = [];
    const survivor = await directory('dir-survivor-2', 'dir2:', released);
    const leaving = await directory('dir-leaving-2', 'dir2:');
    await leaving.seat('gone', 'room-3');
    await leaving.stop();
    expect(await reader.exists('dir2:node:dir-leaving-2:leaving')).toBe(0);
    expect(await survivor.sweep()).toBe(1);
    expect(released).toEqual([{ peerId: 'gone', room: 'room-3' }]);
    await survivor.stop();
  });
});
