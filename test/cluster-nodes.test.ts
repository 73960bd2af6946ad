/**
 * Several nodes on a real redis-server: packets relayed between two buses arrive complete and in
 * order per sender and receiver, even when the reading connection is cut mid-stream (the reason
 * for streams over pub/sub); a node killed with SIGKILL has its seats released by the
 * survivors within the bound, once, and a peer that had moved to a survivor keeps its seat.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { roomMachine } from '../src/machines/room-machine.js';
import { NodeDirectory } from '../src/signaling/cluster/node-directory.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisRoomStore, type ClusterEffect } from '../src/signaling/cluster/redis-room-store.js';
import { RelayBus } from '../src/signaling/cluster/relay-bus.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import type { ClusterNodeFixture } from './fixtures/cluster-node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureEntry = fileURLToPath(new URL('fixtures/cluster-node.ts', import.meta.url));

let redis: RedisServer;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // Each test starts from an empty cluster: nodes a test stopped would be dead nodes to the next.
  const admin = new RedisLink({ url: redis.url, role: 'admin' });
  await admin.whenUp();
  await admin.run('flushing', (r) => r.flushall());
  await admin.close();
});
afterAll(async () => {
  await redis?.stop();
});

async function openLink(role: string, commandTimeoutMillis?: number): Promise<RedisLink> {
  const link = new RedisLink({
    url: redis.url,
    role,
    autoPipelining: true,
    ...(commandTimeoutMillis === undefined ? {} : { commandTimeoutMillis }),
  });
  cleanups.push(() => link.close());
  await link.whenUp();
  return link;
}

function roomStore(link: RedisLink) {
  return new RedisRoomStore({
    link,
    machine: roomMachine,
    input: (room) => ({ room }),
    isDisposable: (snapshot) => snapshot.value === 'empty',
  });
}

/** Resolves when `check` holds, polling every 20 ms; rejects after `timeoutMillis`. */
async function eventually(check: () => boolean | Promise<boolean>, describe: string, timeoutMillis = 10_000) {
  const deadline = Date.now() + timeoutMillis;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${describe}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A node with a relay bus that records what it is handed, per socket. */
async function relayNode(nodeId: string) {
  const commands = await openLink(`${nodeId} commands`);
  const reader = await openLink(`${nodeId} relay reader`, 0);
  const received = new Map<string, string[]>();
  const bus = new RelayBus({
    nodeId,
    commands,
    reader,
    deliver: (socketId, text) => {
      const list = received.get(socketId) ?? [];
      list.push(text);
      received.set(socketId, list);
    },
    blockMillis: 200,
  });
  const directory = new NodeDirectory({ nodeId, link: commands, releaseSeat: async () => {} });
  await directory.start();
  cleanups.push(() => directory.stop());
  bus.start();
  cleanups.push(() => bus.stop());
  return { bus, reader, received, directory };
}

describe('cross-node relay', () => {
  it('delivers every packet between two nodes, in order per sender and receiver', async () => {
    const a = await relayNode('relay-a');
    const b = await relayNode('relay-b');
    const count = 2000;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      // Two senders on a to two sockets on b, and one the other way, interleaved.
      sends.push(a.bus.send('relay-b', 'b1', `a1>${i}`));
      sends.push(a.bus.send('relay-b', 'b2', `a2>${i}`));
      sends.push(b.bus.send('relay-a', 'a1', `b1>${i}`));
    }
    expect(new Set(await Promise.all(sends))).toEqual(new Set(['sent']));
    await eventually(
      () => (b.received.get('b1')?.length ?? 0) + (b.received.get('b2')?.length ?? 0) === 2 * count,
      'b to receive everything',
    );
    await eventually(() => a.received.get('a1')?.length === count, 'a to receive everything');
    const expected = (prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}>${i}`);
    expect(b.received.get('b1')).toEqual(expected('a1'));
    expect(b.received.get('b2')).toEqual(expected('a2'));
    expect(a.received.get('a1')).toEqual(expected('b1'));
    expect(a.bus.stats).toEqual({ sent: 2 * count, delivered: count, failed: 0 });
  });

  it('loses nothing when the reading connection is cut mid-stream: the reader resumes after its last entry', async () => {
    const a = await relayNode('flap-a');
    const b = await relayNode('flap-b');
    const readerId = await b.reader.redis.client('ID');
    const admin = await openLink('admin');
    let cut = false;
    b.reader.onChange((up) => (cut ||= !up));
    const count = 3000;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      sends.push(a.bus.send('flap-b', 'b1', String(i)));
      if (i === count / 3) {
        // Cut b's reader while a keeps sending: with pub/sub, what is published now is lost.
        sends.push(admin.run('kill', (r) => r.client('KILL', 'ID', String(readerId))));
      }
    }
    await Promise.all(sends);
    await eventually(() => b.received.get('b1')?.length === count, 'every packet after the cut', 15_000);
    expect(cut).toBe(true);
    expect(b.received.get('b1')).toEqual(Array.from({ length: count }, (_, i) => String(i)));
  });

  it('tells the sender that a node is gone instead of queueing for it', async () => {
    const a = await relayNode('gone-a');
    await expect(a.bus.send('never-was', 's', 'hello')).resolves.toBe('node-gone');
  });
});

describe('node death', () => {
  it('releases the seats of a node killed with SIGKILL within the bound, once, and keeps a moved peer', async () => {
    const heartbeatMillis = 150;
    const link = await openLink('test');
    const rooms = roomStore(link);
    // The partners, held by the survivors.
    for (const room of ['death-1', 'death-2', 'death-3'])
      await rooms.step(room, { type: 'room.join', peerId: `${room}-partner` });

    const fixture: ClusterNodeFixture = {
      url: redis.url,
      nodeId: 'doomed',
      heartbeatMillis,
      seats: [
        { peerId: 'death-1-peer', room: 'death-1' },
        { peerId: 'death-2-peer', room: 'death-2' },
        { peerId: 'death-3-peer', room: 'death-3' },
      ],
    };
    const child = spawn(process.execPath, ['--import', 'tsx', fixtureEntry, JSON.stringify(fixture)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => String(chunk).includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the node exited with ${code} before it was ready`)));
    });

    // Two survivors; each releases through the room machine and records the effects.
    const effects: Array<{ by: string; effect: ClusterEffect }> = [];
    const survivors = await Promise.all(
      ['survivor-1', 'survivor-2'].map(async (nodeId) => {
        const own = await openLink(nodeId);
        const store = roomStore(own);
        const directory = new NodeDirectory({
          nodeId,
          link: own,
          heartbeatMillis,
          releaseSeat: async ({ peerId, room }) => {
            const step = await store.step(room, { type: 'room.leave', peerId });
            for (const effect of step.effects) effects.push({ by: nodeId, effect });
          },
        });
        await directory.start();
        cleanups.push(() => directory.stop());
        return directory;
      }),
    );
    // death-3's peer recovered on survivor-1 before the death: its seat is no longer the dead node's.
    await survivors[0].seat('death-3-peer', 'death-3');
    expect(await survivors[1].locate('death-1-peer')).toBe('doomed');

    const killedAt = Date.now();
    child.kill('SIGKILL');
    const peersOf = async (room: string) => ((await rooms.read(room))?.context.peers ?? []).map((peer) => peer.id);
    await eventually(
      async () => (await peersOf('death-1')).length === 1 && (await peersOf('death-2')).length === 1,
      'the dead node’s seats to be released',
    );
    const releasedAfter = Date.now() - killedAt;
    // Generous slack over the bound for a loaded 2-core machine; the bound itself is 4 heartbeats.
    expect(survivors[0].releaseBoundMillis).toBe(4 * heartbeatMillis);
    expect(releasedAfter).toBeLessThan(survivors[0].releaseBoundMillis + 3000);

    expect(await peersOf('death-1')).toEqual(['death-1-partner']);
    expect(await peersOf('death-2')).toEqual(['death-2-partner']);
    expect((await peersOf('death-3')).sort()).toEqual(['death-3-partner', 'death-3-peer']);
    // Each partner told once that its peer left, by whichever survivor released the seat.
    await new Promise((resolve) => setTimeout(resolve, 4 * heartbeatMillis));
    expect(
      effects.map(({ effect }) => effect).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    ).toEqual([
      { type: 'notifyPeerLeft', params: { peerId: 'death-1-partner' } },
      { type: 'notifyPeerLeft', params: { peerId: 'death-2-partner' } },
    ]);
    expect(new Set(effects.map(({ by }) => by)).size).toBe(1);
    expect(await survivors[0].isAlive('doomed')).toBe(false);
    expect(await survivors[1].locate('death-1-peer')).toBeUndefined();
    expect(await survivors[1].locate('death-3-peer')).toBe('survivor-1');
    console.log(`seats released ${releasedAfter} ms after SIGKILL (bound ${survivors[0].releaseBoundMillis} ms)`);
  });
  it('keeps beating while releasing a dead node takes longer than its TTL', async () => {
    const heartbeatMillis = 100;
    const link = await openLink('slow-release');
    const rooms = roomStore(link);
    await rooms.step('slow-1', { type: 'room.join', peerId: 'slow-1-partner' });
    const doomed = new NodeDirectory({ nodeId: 'slow-doomed', link, heartbeatMillis, releaseSeat: async () => {} });
    await doomed.start();
    await rooms.step('slow-1', { type: 'room.join', peerId: 'slow-1-peer' });
    await doomed.seat('slow-1-peer', 'slow-1');
    // The survivor's release hangs (thousands of seats, a slow Redis): its heartbeat must go on.
    let hung = false;
    const survivor = new NodeDirectory({
      nodeId: 'slow-survivor',
      link,
      heartbeatMillis,
      releaseSeat: () => {
        hung = true;
        return new Promise<void>(() => {});
      },
    });
    await survivor.start();
    cleanups.push(() => survivor.stop());
    await doomed.stop();
    await eventually(() => hung, 'the survivor to start releasing');
    await new Promise((resolve) => setTimeout(resolve, 3 * survivor.releaseBoundMillis));
    expect(await link.redis.exists('parley:node:slow-survivor:alive')).toBe(1);
  });

  it('hands a release over to another survivor when the releasing node dies half-way', async () => {
    const heartbeatMillis = 100;
    const link = await openLink('takeover');
    const rooms = roomStore(link);
    const seats = ['takeover-1', 'takeover-2'];
    for (const room of seats) await rooms.step(room, { type: 'room.join', peerId: `${room}-partner` });
    const doomed = new NodeDirectory({ nodeId: 'takeover-doomed', link, heartbeatMillis, releaseSeat: async () => {} });
    await doomed.start();
    for (const room of seats) {
      await rooms.step(room, { type: 'room.join', peerId: `${room}-peer` });
      await doomed.seat(`${room}-peer`, room);
    }

    // The first survivor claims the dead node, then hangs in its first release and dies.
    let hung = false;
    const first = new NodeDirectory({
      nodeId: 'takeover-first',
      link,
      heartbeatMillis,
      releaseSeat: () => {
        hung = true;
        return new Promise<void>(() => {});
      },
    });
    await first.start();
    await doomed.stop();
    await eventually(() => hung, 'the first survivor to start releasing');
    await first.stop();

    const effects: ClusterEffect[] = [];
    const second = new NodeDirectory({
      nodeId: 'takeover-second',
      link,
      heartbeatMillis,
      releaseSeat: async ({ peerId, room }) => {
        effects.push(...(await rooms.step(room, { type: 'room.leave', peerId })).effects);
      },
    });
    await second.start();
    cleanups.push(() => second.stop());
    await eventually(async () => {
      const peers = await Promise.all(seats.map(async (room) => (await rooms.read(room))?.context.peers.length));
      return peers.every((count) => count === 1);
    }, 'the second survivor to take over and release both seats');
    expect(
      effects.map((effect) => effect.params).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    ).toEqual([{ peerId: 'takeover-1-partner' }, { peerId: 'takeover-2-partner' }]);
    // The job is done and forgotten once the last seat is released.
    await eventually(
      async () => Object.keys(await link.redis.hgetall('parley:reaping')).length === 0,
      'the release job to be forgotten',
    );
  });
});
