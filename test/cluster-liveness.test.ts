/**
 * The node TTL (`parley serve --node-ttl`): how long a `--redis` node may go without reaching
 * Redis before the others take it for dead and release its seats. Too short a one is refused
 * with the reason; a node given a longer one survives a stall of its whole process (SIGSTOP,
 * as a long garbage collection or a join storm on a busy machine would stall it) that gets a
 * node with a short one taken for dead.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HELP, parseServeCommand, parseServeConfig } from '../src/signaling/cli.js';
import { startParleyServer } from '../src/signaling/parley-server.js';
import { NodeDirectory } from '../src/signaling/cluster/node-directory.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';

describe('--node-ttl', () => {
  it('is unset by default (the server uses 10 s) and takes whole seconds from the flag or PARLEY_NODE_TTL', () => {
    const redis = ['--redis', 'redis://127.0.0.1:6379'];
    expect(parseServeConfig(redis, {}).nodeTtlMs).toBeUndefined();
    expect(parseServeConfig([...redis, '--node-ttl', '30'], {}).nodeTtlMs).toBe(30_000);
    expect(parseServeConfig(redis, { PARLEY_NODE_TTL: '12' }).nodeTtlMs).toBe(12_000);
    expect(parseServeConfig([...redis, '--node-ttl', '3'], { PARLEY_NODE_TTL: '12' }).nodeTtlMs).toBe(3_000);
  });

  it('refuses a TTL too short for three heartbeats, saying why', () => {
    for (const tooShort of ['0', '1', '2']) {
      expect(() => parseServeConfig(['--redis', 'redis://127.0.0.1:6379', '--node-ttl', tooShort], {})).toThrow(
        /--node-ttl must be at least 3 seconds, got \d: heartbeats go every third of it/,
      );
    }
    expect(() => parseServeConfig(['--node-ttl', 'soon'], {})).toThrow(/--node-ttl must be a whole number/);
    expect(() => parseServeConfig(['--node-ttl', '2.5'], {})).toThrow(/--node-ttl must be a whole number/);
  });

  it('warns that it does nothing without --redis', () => {
    expect(parseServeCommand(['--node-ttl', '20'], {}).warnings).toEqual([
      '--node-ttl (PARLEY_NODE_TTL) does nothing without --redis (PARLEY_REDIS_URL).',
    ]);
  });

  it('is documented in --help with its variable and default', () => {
    expect(HELP).toContain('--node-ttl SECONDS');
    expect(HELP).toContain('[PARLEY_NODE_TTL]  (10)');
  });

  it('is refused by the server too, before it reaches for Redis', async () => {
    await expect(
      startParleyServer({
        host: '127.0.0.1',
        port: 0,
        allowedOrigins: [],
        staticDir: undefined,
        turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3_600, stunUrls: [] },
        // Nothing listens there: the TTL is checked first.
        redis: 'redis://127.0.0.1:1',
        nodeTtlMs: 2_000,
      }),
    ).rejects.toThrow(/node TTL must be at least 3 s .*got 2000 ms/);
  });

  it('derives the heartbeat from the TTL in the directory, and refuses fewer than three beats per TTL', () => {
    // The link is never connected: the options are checked in the constructor.
    const link = new RedisLink({ url: 'redis://127.0.0.1:1', role: 'unused' });
    try {
      const releaseSeat = async () => {};
      const derived = new NodeDirectory({ nodeId: 'ttl-only', link, releaseSeat, ttlMillis: 9_000 });
      expect([derived.ttlMillis, derived.heartbeatMillis, derived.releaseBoundMillis]).toEqual([9_000, 3_000, 12_000]);
      expect(
        () => new NodeDirectory({ nodeId: 'tight', link, releaseSeat, ttlMillis: 2_000, heartbeatMillis: 1_000 }),
      ).toThrow(/node TTL \(2000 ms\) must be at least 3 heartbeats/);
    } finally {
      void link.close();
    }
  });
});

describe('a node whose process stalls', () => {
  let redis: RedisServer;
  /** Sweeps every second (TTL 3 s), so it would release a stalled node's seats quickly. */
  let survivor: ParleyProcess;
  let survivorUrl: string;
  const nodes: ParleyProcess[] = [];
  const clients: TestClient[] = [];
  const STALL_MILLIS = 5_000;

  beforeAll(async () => {
    redis = await startRedisServer();
    survivor = runParley(clusterNodeArgs(redis.url, 0, ['--node-ttl', '3']));
    nodes.push(survivor);
    survivorUrl = (await survivor.listening()).origin;
  }, 60_000);
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGCONT');
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await redis?.stop();
  });

  /** A call between a peer on a node with `ttlSeconds` and one on the survivor. */
  async function callAcross(ttlSeconds: number, room: string) {
    const node = runParley(clusterNodeArgs(redis.url, 0, ['--node-ttl', String(ttlSeconds)]));
    nodes.push(node);
    const url = (await node.listening()).origin;
    const health = (await (await fetch(`${url}/healthz`)).json()) as { cluster: { node: string; nodeTtlMs: number } };
    expect(health.cluster.nodeTtlMs).toBe(ttlSeconds * 1000);
    const here = await connectClient(url, { room });
    const there = await connectClient(survivorUrl, { room });
    clients.push(here, there);
    await here.next('ready');
    return { node, here, there };
  }

  /**
   * Stops the whole process (no timer, no heartbeat) for `millis`, then lets it go on: longer
   * than a 3 s TTL plus a sweep, well within 15 s less a heartbeat (5 s) however late it beat last.
   */
  async function stall(node: ParleyProcess, millis: number): Promise<void> {
    node.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, millis));
    node.child.kill('SIGCONT');
  }

  const evicted = (node: ParleyProcess) =>
    node.records().some((record) => String(record.msg).includes('no longer a cluster member'));

  it('is taken for dead with a 3 s TTL: its seats are released and its partner told', async () => {
    const { node, there } = await callAcross(3, 'stall-short');
    node.child.kill('SIGSTOP');
    try {
      // Released while it is stopped (TTL 3 s + a sweep a second): the survivor tells the partner.
      await there.next('peer-left', { timeoutMs: 15_000 });
    } finally {
      node.child.kill('SIGCONT');
    }
    await node.waitForRecord((record) => String(record.msg).includes('no longer a cluster member'), 'eviction');
  }, 60_000);

  it('is not taken for dead with a 15 s TTL: a stall that kills a 3 s node leaves the call going on', async () => {
    const { node, here, there } = await callAcross(15, 'stall-long');
    const deathsSeen = () => survivor.records().filter((record) => record.msg.includes('stopped beating')).length;
    const deathsBefore = deathsSeen();
    await stall(node, STALL_MILLIS);
    // Past the stall, a few heartbeats of the woken node and sweeps of the survivor.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(there.all('peer-left')).toEqual([]);
    expect(evicted(node)).toBe(false);
    expect(deathsSeen()).toBe(deathsBefore);
    here.socket.emit('data', candidateSignal('after-the-stall'));
    expect((await there.next('data')).args).toEqual([candidateSignal('after-the-stall')]);
  }, 60_000);
});
