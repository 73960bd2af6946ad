/**
 * Two cluster nodes on a real redis-server, as the signaling namespace would use them: a call
 * whose peers are on different nodes forms, its effects reach the node of the peer they concern,
 * packets cross in order both ways, a third joiner on either node is refused, and the peer left
 * behind is told when the other leaves.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { roomMachine, type RoomEvent } from '../src/machines/room-machine.js';
import { Registry } from 'prom-client';
import { ClusterNode } from '../src/signaling/cluster/cluster-node.js';
import { registerClusterMetrics } from '../src/signaling/cluster/cluster-metrics.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import type { ClusterEffect } from '../src/signaling/cluster/redis-room-store.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import type { ClusterNodeFixture } from './fixtures/cluster-node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureEntry = fileURLToPath(new URL('fixtures/cluster-node.ts', import.meta.url));

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  // Each test starts from an empty cluster: nodes a test stopped would be dead nodes to the next.
  const admin = new RedisLink({ url: redis.url, role: 'admin' });
  await admin.whenUp();
  await admin.run('flushing', (r) => r.flushall());
  await admin.close();
});
afterAll(async () => {
  await redis?.stop();
});

async function eventually(check: () => boolean, describe: string, timeoutMillis = 10_000) {
  const deadline = Date.now() + timeoutMillis;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${describe}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A node with pretend sockets: which peers it hosts, what it was told to do and handed. */
async function startNode(nodeId: string, heartbeatMillis?: number) {
  const hosted = new Set<string>();
  const effects: Array<{ room: string; effect: ClusterEffect }> = [];
  const delivered: Array<{ peerId: string; text: string }> = [];
  const node = await ClusterNode.start({
    url: redis.url,
    nodeId,
    ...(heartbeatMillis === undefined ? {} : { heartbeatMillis }),
    machine: roomMachine,
    input: (room) => ({ room }),
    isDisposable: (snapshot) => snapshot.value === 'empty',
    leaveEvent: (peerId): RoomEvent => ({ type: 'room.leave', peerId }),
    hosts: (peerId) => hosted.has(peerId),
    effect: (effect, room) => effects.push({ room, effect }),
    deliver: (peerId, text) => delivered.push({ peerId, text }),
  });
  /** A client connects here and joins `room`. */
  const join = async (room: string, peerId: string) => {
    hosted.add(peerId);
    const step = await node.step(room, { type: 'room.join', peerId });
    if (step.snapshot.context.peers.some((peer) => peer.id === peerId)) await node.seat(peerId, room);
    else hosted.delete(peerId);
    return step;
  };
  const leave = async (room: string, peerId: string) => {
    await node.step(room, { type: 'room.leave', peerId });
    await node.unseat(peerId);
    hosted.delete(peerId);
  };
  const typesFor = (peerId: string) =>
    effects
      .filter(({ effect }) => (effect.params as { peerId: string }).peerId === peerId)
      .map(({ effect }) => effect.type);
  return { node, hosted, effects, delivered, join, leave, typesFor };
}

describe('a call across two cluster nodes', () => {
  it('keeps packets in order while the node of their peer is being looked up', async () => {
    const one = await startNode('node-one');
    const two = await startNode('node-two');
    try {
      await one.join('order', 'alice');
      await two.join('order', 'bob');
      // Each lookup of bob's node answers only when the test says so.
      const directory = one.node.directory;
      const realLocate = directory.locate.bind(directory);
      const answers: Array<() => void> = [];
      const locate = vi.spyOn(directory, 'locate').mockImplementation(async (peerId: string) => {
        const node = await realLocate(peerId);
        await new Promise<void>((resolve) => answers.push(resolve));
        return node;
      });
      const first = one.node.relay('bob', '42["data",1]');
      const second = one.node.relay('bob', '42["data",2]');
      await eventually(() => answers.length >= 1, 'the first lookup');
      answers.shift()?.();
      await first;
      // The cache is warm now; a packet sent now must still not overtake the second one.
      const third = one.node.relay('bob', '42["data",3]');
      let settled = false;
      void Promise.all([second, third]).finally(() => (settled = true));
      await eventually(() => {
        for (const answer of answers.splice(0)) answer();
        return settled;
      }, 'every packet to be sent');
      await eventually(() => two.delivered.length === 3, 'every packet to arrive');
      expect(two.delivered.map(({ text }) => text)).toEqual(['42["data",1]', '42["data",2]', '42["data",3]']);
      expect(locate).toHaveBeenCalledTimes(1);
    } finally {
      await one.node.stop();
      await two.node.stop();
    }
  });

  it('forms, relays in order both ways, refuses a third peer and tells the one left behind', async () => {
    const one = await startNode('node-one');
    const two = await startNode('node-two');
    try {
      await one.join('call', 'alice');
      expect(one.typesFor('alice')).toEqual(['welcomePeer']);

      await two.join('call', 'bob');
      expect(two.typesFor('bob')).toEqual(['welcomePeer']);
      // Bob's join made the room ready; alice, on the other node, is told so there.
      await eventually(() => one.typesFor('alice').includes('notifyReady'), 'alice to be told the call can start');
      expect(one.effects.at(-1)).toEqual({
        room: 'call',
        effect: { type: 'notifyReady', params: { peerId: 'alice' } },
      });
      expect(two.typesFor('alice')).toEqual([]);

      const count = 200;
      const sends = [];
      for (let i = 0; i < count; i++) {
        sends.push(one.node.relay('bob', `42["data",${i}]`));
        sends.push(two.node.relay('alice', `42["data",${-i}]`));
      }
      expect(new Set(await Promise.all(sends))).toEqual(new Set(['sent']));
      await eventually(() => two.delivered.length === count && one.delivered.length === count, 'every packet');
      expect(two.delivered.map(({ text }) => text)).toEqual(Array.from({ length: count }, (_, i) => `42["data",${i}]`));
      expect(one.delivered.map(({ text }) => text)).toEqual(
        Array.from({ length: count }, (_, i) => `42["data",${-i}]`),
      );
      expect(new Set(two.delivered.map(({ peerId }) => peerId))).toEqual(new Set(['bob']));
      // A peer on this node is handed its packet directly.
      one.hosted.add('carol');
      await expect(one.node.relay('carol', 'x')).resolves.toBe('delivered');
      one.hosted.delete('carol');
      await expect(one.node.relay('nobody', 'x')).resolves.toBe('no-peer');

      for (const [node, peerId] of [
        [one, 'carol'],
        [two, 'dave'],
      ] as const) {
        const step = await node.join('call', peerId);
        expect(step.effects).toEqual([{ type: 'refuseRoomFull', params: { peerId, room: 'call' } }]);
      }

      await two.leave('call', 'bob');
      await eventually(() => one.typesFor('alice').includes('notifyPeerLeft'), 'alice to be told bob left');
      const room = await one.node.rooms.read('call');
      expect(room?.context.peers.map((peer) => peer.id)).toEqual(['alice']);

      // What an operator sees of node one: the 200 packets it relayed, its effects all local.
      const registry = new Registry();
      registerClusterMetrics(registry, one.node);
      const metrics = await registry.metrics();
      expect(metrics).toContain('parley_redis_up 1');
      expect(metrics).toContain(`parley_cluster_relay_messages_total{outcome="sent"} ${count}`);
      expect(metrics).toContain('parley_cluster_relay_messages_total{outcome="failed"} 0');
    } finally {
      await one.node.stop();
      await two.node.stop();
    }
  });

  it('refuses to start while Redis is unreachable, with a clear error', async () => {
    const start = ClusterNode.start(
      {
        url: 'redis://127.0.0.1:1',
        machine: roomMachine,
        input: (room) => ({ room }),
        isDisposable: (snapshot) => snapshot.value === 'empty',
        leaveEvent: (peerId): RoomEvent => ({ type: 'room.leave', peerId }),
        hosts: () => false,
        effect: () => {},
        deliver: () => {},
      },
      500,
    );
    await expect(start).rejects.toMatchObject({ code: 'redis-unavailable' });
  });
  it('tells a peer on a surviving node, once, that its partner on a node killed with SIGKILL left', async () => {
    const heartbeatMillis = 150;
    const one = await startNode('survivor-one', heartbeatMillis);
    const two = await startNode('survivor-two', heartbeatMillis);
    const fixture: ClusterNodeFixture = {
      url: redis.url,
      nodeId: 'killed',
      heartbeatMillis,
      seats: [{ peerId: 'victim', room: 'mid-call' }],
    };
    const child = spawn(process.execPath, ['--import', 'tsx', fixtureEntry, JSON.stringify(fixture)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => String(chunk).includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the node exited with ${code} before it was ready`)));
      });
      // The partner joins on node one: the call is up across two nodes.
      await one.join('mid-call', 'partner');
      await eventually(() => one.typesFor('partner').includes('welcomePeer'), 'the partner to be welcomed');
      expect((await one.node.rooms.read('mid-call'))?.context.peers.map((peer) => peer.id)).toEqual([
        'victim',
        'partner',
      ]);

      child.kill('SIGKILL');
      // Whichever survivor releases the seat, the effect reaches the partner's node, once.
      await eventually(() => one.typesFor('partner').includes('notifyPeerLeft'), 'the partner to be told', 15_000);
      await new Promise((resolve) => setTimeout(resolve, 4 * heartbeatMillis));
      expect(one.typesFor('partner').filter((type) => type === 'notifyPeerLeft')).toHaveLength(1);
      expect(two.effects).toEqual([]);
      expect((await one.node.rooms.read('mid-call'))?.context.peers.map((peer) => peer.id)).toEqual(['partner']);
    } finally {
      child.kill('SIGKILL');
      await one.node.stop();
      await two.node.stop();
    }
  });
});
