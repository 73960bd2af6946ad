/**
 * Three `parley serve --redis` processes on one redis-server started for the test file, and the
 * clients a test opens, closed after each test: the set-up of the tests that run a cluster of
 * real processes. Call at the top level of a test file; the fixture is filled in `beforeAll`.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { TestClient } from './parley.js';
import { runParley, type ParleyProcess } from './parley-process.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { clusterNodeArgs } from './cluster-node-args.js';

export interface ClusterFixture {
  /** The redis-server (set once `beforeAll` has run). */
  readonly redis: RedisServer;
  /** The node processes; a test may push more, which are killed with the rest. */
  readonly nodes: ParleyProcess[];
  /** The first three nodes' origins. */
  readonly urls: string[];
  /** Clients to close after the test. */
  readonly clients: TestClient[];
  /** A room name no other test of the file uses, `${prefix}-${n}`. */
  readonly freshRoom: () => string;
}

export function useThreeNodeCluster(roomPrefix: string): ClusterFixture {
  let redis: RedisServer | undefined;
  let roomCounter = 0;
  const fixture: ClusterFixture = {
    get redis() {
      if (redis === undefined) throw new Error('the cluster fixture is used before beforeAll ran');
      return redis;
    },
    nodes: [],
    urls: [],
    clients: [],
    freshRoom: () => `${roomPrefix}-${++roomCounter}`,
  };
  beforeAll(async () => {
    redis = await startRedisServer();
    for (let i = 0; i < 3; i++) fixture.nodes.push(runParley(clusterNodeArgs(redis.url)));
    for (const node of fixture.nodes) fixture.urls.push((await node.listening()).origin);
  }, 60_000);
  afterEach(() => {
    for (const client of fixture.clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await Promise.all(fixture.nodes.map((node) => node.stop('SIGKILL')));
    await redis?.stop();
  });
  return fixture;
}
