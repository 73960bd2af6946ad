/**
 * `parley serve --redis` while Redis restarts (empty: no persistence) under two running nodes:
 * they do not crash, they refuse joins with a clear `unavailable` error while it is away, they
 * say so in their logs and in `parley_redis_up`, and once it is back they take joins again and
 * re-form the rooms of the calls they carry (the call between their peers relays again).
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
  redis = await startRedisServer();
  for (let i = 0; i < 2; i++) nodes.push(runParley(clusterNodeArgs(redis.url)));
  for (const node of nodes) urls.push((await node.listening()).origin);
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
  await redis?.stop();
});

async function join(node: number, room: string): Promise<TestClient> {
  const client = await connectClient(urls[node], { room });
  clients.push(client);
  return client;
}

async function redisUp(node: number): Promise<number> {
  const text = await (await fetch(`${urls[node]}/metrics`)).text();
  const line = /^parley_redis_up (\d)$/m.exec(text);
  if (line === null) throw new Error(`no parley_redis_up in /metrics:\n${text.slice(0, 400)}`);
  return Number(line[1]);
}

async function eventually(check: () => Promise<boolean> | boolean, describe: string, timeoutMillis = 15_000) {
  const deadline = Date.now() + timeoutMillis;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${describe}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('parley serve --redis while Redis restarts', () => {
  it('degrades, says so, recovers, and re-forms its calls', async () => {
    const a = await join(0, 'through-the-outage');
    const b = await join(1, 'through-the-outage');
    await a.next('ready');
    expect(await redisUp(0)).toBe(1);

    await redis.stop();
    for (const [i, node] of nodes.entries()) {
      await node.waitForRecord((r) => r.msg.startsWith('Redis is unreachable'), `node ${i}: Redis down logged`);
      await eventually(async () => (await redisUp(i)) === 0, `node ${i}: parley_redis_up 0`);
    }
    // A join now is refused, clearly, and the node carries on.
    const refused = await join(0, 'during-the-outage');
    const [message, data] = refused.all('connect_error')[0]?.args ?? [];
    expect(data).toMatchObject({ code: 'unavailable' });
    expect(String(message)).toMatch(/cannot reach its shared state.*Redis is unavailable/);
    // A relay now is answered with the same error, not lost in silence.
    a.socket.emit('data', candidateSignal('during'));
    expect(((await a.next('error')).args[0] as { code: string }).code).toBe('unavailable');

    await redis.start();
    for (const [i, node] of nodes.entries()) {
      await node.waitForRecord((r) => r.msg === 'Redis is reachable again', `node ${i}: Redis up logged`, 15_000);
      await eventually(async () => (await redisUp(i)) === 1, `node ${i}: parley_redis_up 1`);
      // Redis came back empty: each node finds it is no longer a member, and takes its seats again.
      await node.waitForRecord((r) => String(r.msg).includes('no longer a cluster member'), `node ${i}: eviction`);
    }
    // Joins work again, across nodes.
    const c = await join(1, 'after-the-outage');
    const d = await join(0, 'after-the-outage');
    await c.next('ready');
    expect(d.all('connect_error')).toEqual([]);
    // The call that went through the outage relays again, both ways, without a new join.
    for (const [from, to, marker] of [
      [a, b, 'a-after'],
      [b, a, 'b-after'],
    ] as const) {
      const before = to.all('data').length;
      await eventually(async () => {
        from.socket.emit('data', candidateSignal(marker));
        await new Promise((resolve) => setTimeout(resolve, 200));
        return to.all('data').length > before;
      }, `${marker} relayed`);
      expect(to.all('data').at(-1)!.args).toEqual([candidateSignal(marker)]);
    }
    expect(a.all('peer-left')).toEqual([]);
    expect(b.all('peer-left')).toEqual([]);
    for (const node of nodes) expect(node.child.exitCode).toBeNull();
  }, 90_000);
});
