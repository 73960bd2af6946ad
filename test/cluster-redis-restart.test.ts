/**
 * Redis taken away and brought back (a real redis-server stopped and started on the same port):
 * while it is down, every cluster operation fails at once with `redis-unavailable` instead of
 * hanging or crashing, the outage is logged once per connection and shown by
 * `parley_redis_up`; once it is back, the same objects work again, and a node learns that
 * Redis came back empty.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMachine } from '../src/machines/room-machine.js';
import { ClusterError } from '../src/signaling/cluster/cluster-error.js';
import { registerClusterMetrics } from '../src/signaling/cluster/cluster-metrics.js';
import { NodeDirectory } from '../src/signaling/cluster/node-directory.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisRoomStore } from '../src/signaling/cluster/redis-room-store.js';
import { RelayBus } from '../src/signaling/cluster/relay-bus.js';
import { captureLog } from './helpers/log-capture.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

async function eventually(check: () => boolean | Promise<boolean>, describe: string, timeoutMillis = 15_000) {
  const deadline = Date.now() + timeoutMillis;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${describe}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function redisUp(registry: Registry): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('parley_redis_up')?.get();
  return metric?.values[0]?.value;
}

describe('Redis restart', () => {
  it('fails cleanly while Redis is down, says so once in logs and metrics, and recovers', async () => {
    const captured = captureLog();
    const commands = new RedisLink({ url: redis.url, role: 'commands', log: captured.log, reconnectMaxMillis: 200 });
    const reader = new RedisLink({
      url: redis.url,
      role: 'relay reader',
      log: captured.log,
      reconnectMaxMillis: 200,
      commandTimeoutMillis: 0,
    });
    await Promise.all([commands.whenUp(), reader.whenUp()]);
    const rooms = new RedisRoomStore({
      link: commands,
      machine: roomMachine,
      input: (room) => ({ room }),
      isDisposable: (snapshot) => snapshot.value === 'empty',
    });
    const received: string[] = [];
    const bus = new RelayBus({
      nodeId: 'restart-node',
      commands,
      reader,
      deliver: (_, text) => received.push(text),
      blockMillis: 200,
    });
    let evictions = 0;
    const directory = new NodeDirectory({
      nodeId: 'restart-node',
      link: commands,
      heartbeatMillis: 100,
      releaseSeat: async () => {},
      onEvicted: () => (evictions += 1),
      log: captured.log,
    });
    const registry = new Registry();
    registerClusterMetrics(registry, { links: [commands, reader], bus });
    try {
      await directory.start();
      bus.start();
      await rooms.step('before', { type: 'room.join', peerId: 'a' });
      await bus.send('restart-node', 's', 'before');
      await eventually(() => received.includes('before'), 'the packet sent before the outage');
      expect(await redisUp(registry)).toBe(1);

      let reconnects = 0;
      commands.redis.on('reconnecting', () => (reconnects += 1));
      await redis.stop();
      await eventually(() => !commands.up && !reader.up, 'both links to see Redis go');
      expect(await redisUp(registry)).toBe(0);

      // Every operation fails at once with a clear error; nothing waits for Redis.
      const started = Date.now();
      const failures = await Promise.allSettled([
        rooms.step('during', { type: 'room.join', peerId: 'b' }),
        bus.send('restart-node', 's', 'during'),
        directory.seat('b', 'during'),
        directory.locate('a'),
      ]);
      // At once: no command waits for a reconnect (generous for a loaded machine; a wait would be seconds).
      expect(Date.now() - started).toBeLessThan(1000);
      for (const failure of failures) {
        expect(failure.status).toBe('rejected');
        const reason = (failure as PromiseRejectedResult).reason as unknown;
        expect(reason).toBeInstanceOf(ClusterError);
        expect((reason as ClusterError).code).toBe('redis-unavailable');
      }
      expect(bus.stats.failed).toBe(1);

      // Several reconnect attempts fail: still one line per connection.
      await eventually(() => reconnects >= 4, 'several reconnect attempts');
      const warnings = captured.lines.filter((line) => line.level === 'warn' && /unreachable/.test(line.message));
      expect(warnings.map((line) => line.fields['link']).sort()).toEqual(['commands', 'relay reader']);
      expect(warnings[0].fields['redis']).toBe(`${redis.url}`);
      expect(typeof warnings[0].fields['error']).toBe('string');
      expect(captured.linesWithStacks()).toEqual([]);

      await redis.start();
      await Promise.all([commands.whenUp(), reader.whenUp()]);
      expect(await redisUp(registry)).toBe(1);
      const back = captured.lines.filter((line) => line.level === 'info' && /reachable again/.test(line.message));
      expect(back.map((line) => line.fields['link']).sort()).toEqual(['commands', 'relay reader']);
      expect(back[0].fields['downMillis']).toBeGreaterThan(0);

      // Redis came back empty (no persistence): the node learns it was evicted, and works again.
      await eventually(() => evictions === 1, 'the node to notice it was no longer a member');
      expect(captured.lines.some((line) => /no longer a cluster member/.test(line.message))).toBe(true);
      const step = await rooms.step('after', { type: 'room.join', peerId: 'c' });
      expect(step.snapshot.context.peers.map(({ id, role }) => ({ id, role }))).toEqual([
        { id: 'c', role: 'impolite' },
      ]);
      expect(await rooms.read('before')).toBeUndefined();
      await bus.send('restart-node', 's', 'after');
      await eventually(() => received.includes('after'), 'relay to work again after the restart');
      expect(received).toEqual(['before', 'after']);
      const metrics = await registry.metrics();
      expect(metrics).toContain('parley_cluster_relay_messages_total{outcome="failed"} 1');
    } finally {
      await directory.stop();
      await bus.stop();
      await commands.close();
    }
  });
  it('starts while Redis is down: says so once, refuses, and comes up when Redis does', async () => {
    await redis.stop();
    const captured = captureLog();
    const link = new RedisLink({ url: redis.url, role: 'commands', log: captured.log, reconnectMaxMillis: 100 });
    try {
      await expect(link.whenUp(300)).rejects.toMatchObject({ code: 'redis-unavailable' });
      await expect(link.run('anything', (r) => r.ping())).rejects.toMatchObject({ code: 'redis-unavailable' });
      await eventually(() => captured.lines.length > 0, 'the outage to be logged');
      await redis.start();
      await link.whenUp();
      expect(await link.run('ping', (r) => r.ping())).toBe('PONG');
      expect(captured.lines.map((line) => [line.level, line.message.split(':')[0]])).toEqual([
        ['warn', 'Redis is unreachable'],
        ['info', 'Redis is reachable again'],
      ]);
    } finally {
      await link.close();
    }
  });
});

describe('Redis restart with persistence', () => {
  it('takes no live node for dead although every heartbeat expired during the outage', async () => {
    const persistent = await startRedisServer({ persistent: true });
    // TTL 750 ms: longer than b's reconnect back-off and a heartbeat, as with the defaults (3 s
    // against 1 s and 1 s).
    const heartbeatMillis = 250;
    const links: RedisLink[] = [];
    const directories: NodeDirectory[] = [];
    const released: string[] = [];
    try {
      // a comes back well before b: without a grace, it would take b for dead.
      for (const [node, reconnectMaxMillis] of [
        ['kept-a', 50],
        ['kept-b', 300],
      ] as const) {
        const link = new RedisLink({ url: persistent.url, role: node, reconnectMaxMillis });
        await link.whenUp();
        links.push(link);
        const directory = new NodeDirectory({
          nodeId: node,
          link,
          heartbeatMillis,
          releaseSeat: ({ peerId }) => Promise.resolve(void released.push(peerId)),
        });
        await directory.start();
        await directory.seat(`${node}-peer`, 'kept');
        directories.push(directory);
      }
      await persistent.stop();
      // Longer than the TTL (three heartbeats): every alive key has expired when Redis is back.
      await new Promise((resolve) => setTimeout(resolve, 6 * heartbeatMillis));
      await persistent.start();
      await Promise.all(links.map((link) => link.whenUp()));
      await eventually(
        async () => (await links[0].redis.exists('parley:node:kept-a:alive', 'parley:node:kept-b:alive')) === 2,
        'both nodes to beat again',
      );
      // Several sweeps' worth of time after the grace: nobody was released.
      await new Promise((resolve) => setTimeout(resolve, 8 * heartbeatMillis));
      expect(released).toEqual([]);
      expect((await links[0].redis.smembers('parley:nodes')).sort()).toEqual(['kept-a', 'kept-b']);
      expect(await directories[1].locate('kept-a-peer')).toBe('kept-a');
    } finally {
      for (const directory of directories) await directory.stop();
      await Promise.all(links.map((link) => link.close()));
      await persistent.stop();
    }
  });
});
