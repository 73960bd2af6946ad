/**
 * Connection state recovery across nodes (`parley serve --redis`, docs/scaling.md "Recovery
 * across nodes"): a stock socket.io-client whose load balancer sends it to another node, or
 * whose node dies, recovers its session there: the same socket id, its seat, and what its
 * partner sent meanwhile, in order, once; its partner is told nothing and nobody renegotiates.
 * Real `parley serve` processes on one real redis-server.
 */
import { describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import { runParley } from './helpers/parley-process.js';
import { useThreeNodeCluster } from './helpers/cluster-fixture.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';

const cluster = useThreeNodeCluster('moving');
const { nodes, urls, clients, freshRoom } = cluster;

async function join(url: string, room: string): Promise<TestClient> {
  const client = await connectClient(url, { room });
  clients.push(client);
  return client;
}

/** The presences of room `name`'s peers as stored in Redis. */
async function presences(name: string): Promise<string[] | undefined> {
  const link = new RedisLink({ url: cluster.redis.url, role: 'test reader' });
  try {
    await link.whenUp();
    const stored = await link.run('reading a room', (r) => r.get(`parley:room:${name}`));
    if (stored === null) return undefined;
    return (JSON.parse(stored) as { context: { peers: Array<{ presence: string }> } }).context.peers.map(
      (peer) => peer.presence,
    );
  } finally {
    await link.close();
  }
}

/** The node the directory says peer `peerId` is on. */
async function nodeOf(peerId: string): Promise<string | null> {
  const link = new RedisLink({ url: cluster.redis.url, role: 'test reader' });
  try {
    await link.whenUp();
    return await link.run('locating a peer', (r) => r.hget('parley:where', peerId));
  } finally {
    await link.close();
  }
}

/** The cluster node id of the Parley at `url`. */
async function nodeIdOf(url: string): Promise<string | undefined> {
  const health = (await (await fetch(`${url}/healthz`)).json()) as { cluster?: { node?: string } };
  return health.cluster?.node;
}

/** What a held session's node wrote to Redis for it (its header, then offsets and packets). */
async function heldPackets(pid: string): Promise<string[]> {
  const link = new RedisLink({ url: cluster.redis.url, role: 'test reader' });
  try {
    await link.whenUp();
    return await link.run('reading held packets', (r) => r.lrange(`parley:session:${pid}:packets`, 0, -1));
  } finally {
    await link.close();
  }
}

/** Points `client`'s manager at `url` and reconnects it there (what a balancer does to it). */
async function reconnectTo(client: TestClient, url: string): Promise<void> {
  const connects = client.all('connect').length;
  (client.socket.io as unknown as { uri: string }).uri = url;
  client.socket.connect();
  await client.waitForCount('connect', connects + 1, 15_000);
}

/** Events of `client` named `event` from index `from` of its record on. */
function after(client: TestClient, from: number, event: string): unknown[] {
  return client.received.slice(from).filter((r) => r.event === event);
}

/** A stock client that holds `pid` and `offset` as if it had been connected before, connected to `url`. */
async function claimWith(
  url: string,
  room: string,
  pid: string,
  offset: string,
): Promise<{ socket: Socket; recovered: boolean; id: string | undefined; data: unknown[] }> {
  const socket = io(url, {
    transports: ['websocket'],
    auth: { room },
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
  Object.assign(socket, { _pid: pid, _lastOffset: offset });
  const data: unknown[] = [];
  socket.on('data', (signal: unknown) => data.push(signal));
  const connected = new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  });
  socket.connect();
  const ok = await connected;
  return { socket, recovered: ok && socket.recovered, id: ok ? socket.id : undefined, data };
}

/**
 * A on node `nodeA` and B on node `nodeB` in a fresh room, A told B is there. Returns both, and
 * A's socket id, pid and last offset, as a stock client sends them back.
 */
async function pairOn(nodeA: number, nodeB: number) {
  const room = freshRoom();
  const a = await join(urls[nodeA], room);
  const b = await join(urls[nodeB], room);
  await a.next('ready');
  const id = a.socket.id;
  const { _pid: pid, _lastOffset: offset } = a.socket as unknown as { _pid: string; _lastOffset: string };
  return { room, a, b, id, pid, offset };
}

/** A pair on nodes 0 and 1; then A's transport drops, and node 0 holds its seat away. */
async function droppedFromNode0() {
  const { room, a, b, id, pid, offset } = await pairOn(0, 1);
  a.socket.io.engine.close();
  await a.next('disconnect');
  await expect.poll(() => presences(room), { timeout: 10_000 }).toEqual(['away', 'here']);
  return { room, b, id, pid, offset };
}

const signals = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => candidateSignal(`${prefix}-${i}`));

describe('recovery across nodes', () => {
  it('recovers a peer that the balancer sends to another node, with what its partner sent meanwhile', async () => {
    const { room, a, b, id } = await pairOn(0, 1);
    await a.waitForCount('resume-token', 2);
    // The transport drops under the socket: node 0 holds it.
    a.socket.io.engine.close();
    await a.next('disconnect');
    await expect.poll(() => presences(room), { timeout: 10_000 }).toEqual(['away', 'here']);
    for (const signal of signals('held', 5)) b.socket.emit('data', signal);
    const mark = a.received.length;
    // It comes back through node 1, its partner's node.
    await reconnectTo(a, urls[1]);
    expect(a.socket.recovered).toBe(true);
    expect(a.socket.id).toBe(id);
    const relayed = await a.waitForCount('data', 5);
    expect(relayed.map((r) => r.args[0])).toEqual(signals('held', 5));
    await expect.poll(() => presences(room), { timeout: 10_000 }).toEqual(['here', 'here']);
    // Its seat is on node 1 now (the directory says so): it relays both ways from there.
    expect(await nodeOf(id!)).toBe(await nodeIdOf(urls[1]));
    a.socket.emit('data', candidateSignal('from-a'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a')]);
    for (const signal of signals('later', 3)) b.socket.emit('data', signal);
    const all = await a.waitForCount('data', 8);
    expect(all.map((r) => r.args[0])).toEqual([...signals('held', 5), ...signals('later', 3)]);
    // Nobody renegotiates: no role, no ready, no peer-left; and nothing twice.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(after(a, mark, 'role')).toEqual([]);
    expect(after(a, mark, 'ready')).toEqual([]);
    expect(a.all('data')).toHaveLength(8);
    expect(b.all('peer-left')).toEqual([]);
    expect(b.all('ready')).toEqual([]);
    expect(a.all('error')).toEqual([]);
    expect(b.all('error')).toEqual([]);
  }, 40_000);

  it('recovers a session whose node has not yet noticed its client went, with what was written to it unread', async () => {
    const { room, a, b, id, pid, offset } = await pairOn(2, 0);
    // The client stops reading (its connection to node 2 stays up: node 2 sees nothing wrong),
    // and what its partner sends now is written to that connection, never read.
    const raw = (a.socket.io.engine as unknown as { transport: { ws: { _socket: { pause(): void } } } }).transport.ws
      ._socket;
    raw.pause();
    for (const signal of signals('unread', 4)) b.socket.emit('data', signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // It comes back on node 0 with its pid and the last offset it read.
    const back = await claimWith(urls[0], room, pid, offset);
    expect(back.recovered).toBe(true);
    expect(back.id).toBe(id);
    await expect.poll(() => back.data.length, { timeout: 10_000 }).toBe(4);
    expect(back.data).toEqual(signals('unread', 4));
    back.socket.emit('data', candidateSignal('from-a'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a')]);
    b.socket.emit('data', candidateSignal('after'));
    await expect.poll(() => back.data.length, { timeout: 10_000 }).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(back.data).toEqual([...signals('unread', 4), candidateSignal('after')]);
    expect(b.all('peer-left')).toEqual([]);
    back.socket.close();
  }, 40_000);

  it('leaves a session one holder when two clients claim its pid on two nodes at the same time', async () => {
    const { room, b, id, pid, offset } = await droppedFromNode0();
    // Two stock clients that hold the same pid and offset reconnect, one to node 1, one to node 2.
    const claimants = await Promise.all([urls[1], urls[2]].map((url) => claimWith(url, room, pid, offset)));
    expect(claimants.some((c) => c.recovered && c.id === id)).toBe(true);
    // Claims in flight together: one gets the session (test/cluster-sessions.test.ts races them in
    // Redis). A claim that comes once the other has recovered it takes it over, as the reconnect
    // of a client whose old connection lingers would, and the other is told DISCONNECT. Either
    // way one socket holds the session in the end, and only it hears the partner.
    const holders = () => claimants.filter((c) => c.socket.connected && c.socket.id === id);
    await expect.poll(() => holders().length, { timeout: 10_000 }).toBe(1);
    const [holder] = holders();
    const other = claimants.find((c) => c !== holder)!;
    b.socket.emit('data', candidateSignal('to-the-one'));
    await expect.poll(() => holder.data, { timeout: 10_000 }).toEqual([candidateSignal('to-the-one')]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.data).toEqual([]);
    expect(holders()).toEqual([holder]);
    expect(b.all('peer-left')).toEqual([]);
    for (const claimant of claimants) claimant.socket.close();
  }, 40_000);

  it('hands a session just recovered on one node to a later claim on another, and tells the first client', async () => {
    const { room, b, id, pid, offset } = await droppedFromNode0();
    // The first comes back on node 1; the second, with the same pid and offset, on node 2 right
    // after, as a client whose first connection lingers would: while what node 1 emitted on
    // the recovery may still wait behind its CONNECT.
    const first = await claimWith(urls[1], room, pid, offset);
    let told: string | undefined;
    first.socket.once('disconnect', (reason) => (told = reason));
    const second = await claimWith(urls[2], room, pid, offset);
    expect([first.recovered, first.id, second.recovered, second.id]).toEqual([true, id, true, id]);
    await expect.poll(() => told, { timeout: 5_000 }).toBe('io server disconnect');
    b.socket.emit('data', candidateSignal('to-the-second'));
    await expect.poll(() => second.data, { timeout: 10_000 }).toEqual([candidateSignal('to-the-second')]);
    expect(first.data).toEqual([]);
    expect(b.all('peer-left')).toEqual([]);
    first.socket.close();
    second.socket.close();
  }, 40_000);

  it('recovers a held session on another node after its node is killed, with what was kept for it', async () => {
    const doomed = runParley(clusterNodeArgs(cluster.redis.url));
    nodes.push(doomed);
    const room = freshRoom();
    const a = await join((await doomed.listening()).origin, room);
    const b = await join(urls[1], room);
    await a.next('ready');
    const id = a.socket.id;
    const pid = (a.socket as unknown as { _pid: string })._pid;
    a.socket.io.engine.close();
    await a.next('disconnect');
    await expect.poll(() => presences(room), { timeout: 10_000 }).toEqual(['away', 'here']);
    for (const signal of signals('kept', 5)) b.socket.emit('data', signal);
    // The doomed node holds the socket: what reaches it is kept in Redis too.
    await expect
      .poll(async () => (await heldPackets(pid)).some((packet) => packet.includes('kept-4')), { timeout: 10_000 })
      .toBe(true);
    await doomed.stop('SIGKILL');
    const mark = a.received.length;
    await reconnectTo(a, urls[1]);
    expect(a.socket.recovered).toBe(true);
    expect(a.socket.id).toBe(id);
    const relayed = await a.waitForCount('data', 5);
    expect(relayed.map((r) => r.args[0])).toEqual(signals('kept', 5));
    b.socket.emit('data', candidateSignal('after'));
    await a.waitForCount('data', 6);
    a.socket.emit('data', candidateSignal('from-a'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a')]);
    // Past the bound in which a survivor releases the dead node's seats (3 s TTL + 1 s beat):
    // the seat moved with the session, so the partner is never told it left.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(b.all('peer-left')).toEqual([]);
    expect(after(a, mark, 'role')).toEqual([]);
    expect(after(a, mark, 'ready')).toEqual([]);
    expect(a.all('data').map((r) => r.args[0])).toEqual([...signals('kept', 5), candidateSignal('after')]);
    expect(await presences(room)).toEqual(['here', 'here']);
  }, 60_000);

  it('recovers a connected session on another node after its node is killed', async () => {
    const doomed = runParley(clusterNodeArgs(cluster.redis.url));
    nodes.push(doomed);
    const room = freshRoom();
    const a = await join((await doomed.listening()).origin, room);
    const b = await join(urls[2], room);
    await a.next('ready');
    const id = a.socket.id;
    await doomed.stop('SIGKILL');
    await a.next('disconnect');
    const mark = a.received.length;
    await reconnectTo(a, urls[2]);
    expect(a.socket.recovered).toBe(true);
    expect(a.socket.id).toBe(id);
    for (const signal of signals('later', 3)) b.socket.emit('data', signal);
    const relayed = await a.waitForCount('data', 3);
    expect(relayed.map((r) => r.args[0])).toEqual(signals('later', 3));
    a.socket.emit('data', candidateSignal('from-a'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a')]);
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(b.all('peer-left')).toEqual([]);
    expect(after(a, mark, 'role')).toEqual([]);
    expect(after(a, mark, 'ready')).toEqual([]);
  }, 60_000);

  it('recovers on another node the sessions of a node stopped with SIGTERM', async () => {
    const leaving = runParley(clusterNodeArgs(cluster.redis.url, 0, ['--drain-timeout', '6']));
    nodes.push(leaving);
    const room = freshRoom();
    const a = await join((await leaving.listening()).origin, room);
    const b = await join(urls[1], room);
    await a.next('ready');
    const id = a.socket.id;
    const mark = a.received.length;
    const stopped = leaving.stop('SIGTERM');
    await a.next('disconnect', { timeoutMs: 15_000 });
    expect(await stopped).toBe(0);
    await reconnectTo(a, urls[1]);
    expect(a.socket.recovered).toBe(true);
    expect(a.socket.id).toBe(id);
    b.socket.emit('data', candidateSignal('after-stop'));
    expect((await a.next('data')).args).toEqual([candidateSignal('after-stop')]);
    a.socket.emit('data', candidateSignal('from-a'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a')]);
    expect(after(a, mark, 'role')).toEqual([]);
    expect(b.all('peer-left')).toEqual([]);
    await expect.poll(() => presences(room), { timeout: 10_000 }).toEqual(['here', 'here']);
  }, 60_000);
});
