/**
 * `parley serve --redis`: three real Parley processes on one real redis-server. Peers on
 * different nodes are in one room and relay both ways; concurrent joins spread over the nodes
 * never seat more than two in a room; a resume token issued by one node gives the seat back on
 * another (the nodes share the resume secret through Redis).
 */
import { describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import { runParley } from './helpers/parley-process.js';
import { useThreeNodeCluster } from './helpers/cluster-fixture.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';

const cluster = useThreeNodeCluster('wired');
const { nodes, urls, clients, freshRoom } = cluster;

async function join(node: number, room: string, auth?: Record<string, unknown>): Promise<TestClient> {
  const client = await connectClient(urls[node], auth === undefined ? { room } : { auth: { room, ...auth } });
  clients.push(client);
  return client;
}

/** Room `name`'s snapshot as stored in Redis (no secret: its key is its name). */
async function roomInRedis(name: string): Promise<{ context: { peers: Array<{ presence: string }> } } | undefined> {
  const link = new RedisLink({ url: cluster.redis.url, role: 'test reader' });
  try {
    await link.whenUp();
    const stored = await link.run('reading a room', (r) => r.get(`parley:room:${name}`));
    return stored === null ? undefined : (JSON.parse(stored) as { context: { peers: Array<{ presence: string }> } });
  } finally {
    await link.close();
  }
}

function presences(room: Awaited<ReturnType<typeof roomInRedis>>): string[] | undefined {
  return room?.context.peers.map((peer) => peer.presence);
}

describe('parley serve --redis', () => {
  it('logs that it joined the cluster', () => {
    for (const node of nodes) {
      expect(node.records().some((r) => r.msg.startsWith('joined the cluster'))).toBe(true);
    }
  });

  it('puts two peers on two nodes in one room and relays data both ways, in order', async () => {
    const room = freshRoom();
    const a = await join(0, room);
    const b = await join(1, room);
    expect((await a.next('role')).args).toEqual([{ room, role: 'impolite' }]);
    expect((await b.next('role')).args).toEqual([{ room, role: 'polite' }]);
    await a.next('ready');
    expect(b.all('ready')).toEqual([]);

    a.socket.emit('data', { type: 'offer', sdp: 'v=0 offer' });
    expect((await b.next('data')).args).toEqual([{ type: 'offer', sdp: 'v=0 offer' }]);
    b.socket.emit('data', { type: 'answer', sdp: 'v=0 answer' });
    expect((await a.next('data')).args).toEqual([{ type: 'answer', sdp: 'v=0 answer' }]);
    for (let i = 0; i < 50; i++) a.socket.emit('data', candidateSignal(`a${i}`));
    for (let i = 0; i < 50; i++) b.socket.emit('data', candidateSignal(`b${i}`));
    const atB = await b.waitForCount('data', 51);
    const atA = await a.waitForCount('data', 51);
    expect(atB.slice(1).map((r) => r.args[0])).toEqual(Array.from({ length: 50 }, (_, i) => candidateSignal(`a${i}`)));
    expect(atA.slice(1).map((r) => r.args[0])).toEqual(Array.from({ length: 50 }, (_, i) => candidateSignal(`b${i}`)));
    // Each peer's token names its partner on the other node (read from the room in Redis).
    await a.waitForCount('resume-token', 2);
    expect(a.all('error')).toEqual([]);
    expect(b.all('error')).toEqual([]);
  });

  it('tells the peer that stays, on another node, that its partner left', async () => {
    const room = freshRoom();
    const a = await join(2, room);
    const b = await join(0, room);
    await a.next('ready');
    b.socket.emit('leave');
    await a.next('peer-left');
    // The seat is free again: a newcomer on a third node takes it, and `a` offers again.
    const c = await join(1, room);
    expect((await c.next('role')).args).toEqual([{ room, role: 'polite' }]);
    await a.waitForCount('ready', 2);
  });

  it('seats at most two per room when many clients join at once through three nodes', async () => {
    const rooms = 30;
    const perRoom = 4;
    const attempts: Array<{ room: string; node: number }> = [];
    for (let r = 0; r < rooms; r++) {
      const room = freshRoom();
      // Spread each room's joiners over the nodes differently (a fixed pattern: reproducible).
      for (let k = 0; k < perRoom; k++) attempts.push({ room, node: (r + k * (1 + (r % 2))) % 3 });
    }
    const joined = await Promise.all(attempts.map(({ room, node }) => join(node, room)));
    const admitted = new Map<string, TestClient[]>();
    for (const [i, client] of joined.entries()) {
      const { room } = attempts[i];
      const refusal = client.all('connect_error')[0];
      if (refusal !== undefined) {
        expect((refusal.args[1] as { code: string }).code).toBe('room-full');
        continue;
      }
      admitted.set(room, [...(admitted.get(room) ?? []), client]);
    }
    expect(admitted.size).toBe(rooms);
    for (const [room, members] of admitted) {
      expect(members.length, room).toBe(2);
      const roles = await Promise.all(
        members.map(async (m) => ((await m.next('role')).args[0] as { role: string }).role),
      );
      expect([...roles].sort(), room).toEqual(['impolite', 'polite']);
      const first = members[roles.indexOf('impolite')];
      await first.next('ready');
      // The other one is never told `ready`: it is the newcomer, and offers nothing.
      expect(members[roles.indexOf('polite')].all('ready'), room).toEqual([]);
    }
  }, 60_000);

  it('recovers a dropped peer on its own node, with what its partner on another node sent meanwhile', async () => {
    const room = freshRoom();
    const a = await join(0, room);
    const b = await join(1, room);
    await a.next('ready');
    const id = a.socket.id;
    // The transport drops under the socket (a network flap, not a leave): node 0 holds it.
    a.socket.io.engine.close();
    await a.next('disconnect');
    await expect.poll(async () => presences(await roomInRedis(room)), { timeout: 10_000 }).toEqual(['away', 'here']);
    for (let i = 0; i < 5; i++) b.socket.emit('data', candidateSignal(`held-${i}`));
    const connects = a.all('connect').length;
    a.socket.connect();
    await a.waitForCount('connect', connects + 1);
    expect(a.socket.recovered).toBe(true);
    expect(a.socket.id).toBe(id);
    const relayed = await a.waitForCount('data', 5);
    expect(relayed.map((r) => r.args[0])).toEqual(Array.from({ length: 5 }, (_, i) => candidateSignal(`held-${i}`)));
    await expect.poll(async () => presences(await roomInRedis(room)), { timeout: 10_000 }).toEqual(['here', 'here']);
    a.socket.emit('data', candidateSignal('after-recovery'));
    expect((await b.next('data')).args).toEqual([candidateSignal('after-recovery')]);
    expect(b.all('peer-left')).toEqual([]);
  });

  it('stops cleanly on SIGTERM, and the survivors free its seats after the hold: the partner is told it left', async () => {
    // Its seats are held for the recovery window (1 s here) for their peers to resume elsewhere.
    const leaving = runParley(
      clusterNodeArgs(cluster.redis.url, 0, ['--drain-timeout', '2', '--recovery-window', '1']),
    );
    nodes.push(leaving);
    const leavingUrl = (await leaving.listening()).origin;
    const room = freshRoom();
    const a = await connectClient(leavingUrl, { room });
    clients.push(a);
    const b = await join(0, room);
    await a.next('ready');
    expect(await leaving.stop('SIGTERM')).toBe(0);
    // No one brings `a` back: its seat is released by a survivor once the hold is over (plus a sweep).
    await b.next('peer-left', { timeoutMs: 15_000 });
  }, 40_000);

  it('gives a peer whose node was killed its seat back on another node, and its partner is never told it left', async () => {
    const doomed = runParley(clusterNodeArgs(cluster.redis.url));
    nodes.push(doomed);
    const doomedUrl = (await doomed.listening()).origin;
    const room = freshRoom();
    const a = await connectClient(doomedUrl, { room });
    clients.push(a);
    const b = await join(1, room);
    await a.next('ready');
    const tokens = await a.waitForCount('resume-token', 2);
    const { token } = tokens.at(-1)!.args[0] as { token: string };
    await doomed.stop('SIGKILL');
    // The same peer comes back through node 2 with the token node 3 issued (one secret, shared in Redis).
    const a2 = await join(2, room, { resume: token });
    expect((await a2.next('role')).args).toEqual([{ room, role: 'impolite', resumed: true }]);
    // What b sent while its node still took a for node 3's (a location cached 1 s) is lost: send until one arrives.
    for (let i = 0; a2.all('data').length === 0; i++) {
      if (i > 50) throw new Error('nothing b sent reached a on its new node');
      b.socket.emit('data', candidateSignal(`to-a2-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    a2.socket.emit('data', candidateSignal('from-a2'));
    expect((await b.next('data')).args).toEqual([candidateSignal('from-a2')]);
    // Past the bound in which survivors release a dead node's seats (3 s TTL + 1 s heartbeat):
    // a's seat moved to node 2, so it is not released, and b is never told its partner left.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(b.all('peer-left')).toEqual([]);
    const late = b.all('data').length;
    a2.socket.emit('data', candidateSignal('after-the-bound'));
    expect((await b.waitForCount('data', late + 1)).at(-1)!.args).toEqual([candidateSignal('after-the-bound')]);
  }, 40_000);
});
