/**
 * Recovery across nodes while Redis is away (`parley serve --redis`, docs/scaling.md "Recovery
 * across nodes"): a client that comes back through another node cannot claim its session, gets a
 * fresh socket whose join is refused `unavailable`, and no node crashes; once Redis is back, its
 * resume token still gives its seat back, and its partner is never told it left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';

let redis: RedisServer;
const nodes: ParleyProcess[] = [];
const urls: string[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  // Persistent: the rooms and records are still there when it comes back.
  redis = await startRedisServer({ persistent: true });
  for (let i = 0; i < 2; i++) nodes.push(runParley(clusterNodeArgs(redis.url)));
  for (const node of nodes) urls.push((await node.listening()).origin);
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
  await redis?.stop();
});

async function redisUp(url: string): Promise<boolean> {
  const health = (await (await fetch(`${url}/healthz`)).json()) as { cluster?: { redisUp?: boolean } };
  return health.cluster?.redisUp === true;
}

describe('recovery across nodes while Redis is away', () => {
  it('gives a fresh socket instead of a crash, and the resume token still works once Redis is back', async () => {
    const room = 'redis-away';
    const a = await connectClient(urls[0], { room });
    const b = await connectClient(urls[1], { room });
    clients.push(a, b);
    await a.next('ready');
    const tokens = await a.waitForCount('resume-token', 2);
    const { token } = tokens.at(-1)!.args[0] as { token: string };
    const id = a.socket.id;
    a.socket.io.engine.close();
    await a.next('disconnect');

    await redis.stop();
    // Back through node 1 with its pid: the claim cannot reach Redis, so a fresh socket, whose
    // join is refused because rooms are in Redis too.
    (a.socket.io as unknown as { uri: string }).uri = urls[1];
    const errors = a.all('connect_error').length;
    a.socket.connect();
    const refused = await a.waitForCount('connect_error', errors + 1, 15_000);
    expect((refused.at(-1)!.args[1] as { code: string }).code).toBe('unavailable');
    expect(a.socket.recovered).toBe(false);
    // Both nodes still serve.
    for (const url of urls) expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await redis.start();
    await expect.poll(() => Promise.all(urls.map(redisUp)), { timeout: 15_000 }).toEqual([true, true]);
    // The same peer, on node 1, with the token node 0 issued: its seat and role back.
    a.close();
    const again = await connectClient(urls[1], { auth: { room, resume: token } });
    clients.push(again);
    expect((await again.next('role')).args).toEqual([{ room, role: 'impolite', resumed: true }]);
    expect(again.socket.id).not.toBe(id);
    b.socket.emit('data', candidateSignal('after-outage'));
    expect((await again.next('data')).args).toEqual([candidateSignal('after-outage')]);
    expect(b.all('peer-left')).toEqual([]);
    for (const node of nodes) {
      expect(node.records().some((record) => record.msg.includes('cluster: could not claim a session'))).toBe(
        node === nodes[1],
      );
    }
  }, 60_000);
});
