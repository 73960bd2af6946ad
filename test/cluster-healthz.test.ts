/**
 * With `--redis` the rooms live in Redis, not in any node's registry: `/healthz` and the live
 * state inspector report the node's own view, the rooms where it holds a seat, and say so.
 * Two in-process nodes on a real redis-server, real socket.io-clients and a real viewer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import type { InspectionEvent } from '../src/protocol/inspection-events.js';
import { connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import { connectViewer, type StreamViewer } from './helpers/inspection-stream.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { ClusterRoomView } from '../src/signaling/inspector/cluster-room-view.js';
import { createSnapshotStepper } from '../src/signaling/snapshot-stepper.js';
import { roomMachine, type RoomEvent } from '../src/machines/room-machine.js';
import type { RoomSnapshot } from '../src/signaling/room-registry.js';

interface Health {
  readonly rooms: number;
  readonly sessions: number;
  readonly cluster: { node: string; redisUp: boolean; nodeTtlMs: number; seats: number; rooms: string };
}

let redis: RedisServer;
/** `inspected` runs the inspector; `other` is a second node of the same cluster. */
let inspected: RunningParleyServer;
let other: RunningParleyServer;
const clients: TestClient[] = [];
const viewers: StreamViewer[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  inspected = await startTestServer({ redis: redis.url, inspect: {} });
  other = await startTestServer({ redis: redis.url, nodeTtlMs: 5_000 });
}, 30_000);
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const viewer of viewers.splice(0)) viewer.close();
});
afterAll(async () => {
  await Promise.all([inspected, other].filter(Boolean).map((server) => server.drain(0)));
  await redis?.stop();
});

async function health(server: RunningParleyServer): Promise<Health> {
  return (await (await fetch(`${server.url}/healthz`)).json()) as Health;
}

async function join(server: RunningParleyServer, room: string, secret?: string): Promise<TestClient> {
  const client = await connectClient(server.url, { room, secret });
  clients.push(client);
  await client.next('role');
  return client;
}

/** Waits until `check` holds for `server`'s /healthz (seat writes and leaves are asynchronous). */
async function healthUntil(server: RunningParleyServer, check: (health: Health) => boolean): Promise<Health> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const current = await health(server);
    if (check(current) || Date.now() > deadline) return current;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The room actor's latest snapshot the viewer was shown: its state and its peers' presences. */
function shownRoom(events: readonly InspectionEvent[], room: string) {
  const about = events.filter((event) => event.sessionId === `room:${room}` && 'snapshot' in event);
  const last = about.at(-1) as
    | (InspectionEvent & {
        snapshot: { status: string; value: unknown; context: { peers: Array<{ presence: string }> } };
      })
    | undefined;
  return (
    last && {
      status: last.snapshot.status,
      value: last.snapshot.value,
      peers: last.snapshot.context.peers.map((p) => p.presence),
    }
  );
}

describe('/healthz with --redis', () => {
  it('counts the rooms where this node holds a seat, and says that is what it counts', async () => {
    expect(await health(inspected)).toMatchObject({
      rooms: 0,
      cluster: {
        redisUp: true,
        nodeTtlMs: 10_000,
        seats: 0,
        rooms: expect.stringMatching(/rooms where it holds a seat/),
      },
    });
    expect((await health(other)).cluster.nodeTtlMs).toBe(5_000);

    // One room with both peers here, one shared with the other node, one only on the other node.
    const a = await join(inspected, 'health-both');
    await join(inspected, 'health-both');
    const c = await join(inspected, 'health-shared');
    await join(other, 'health-shared');
    await join(other, 'health-elsewhere');

    const here = await healthUntil(inspected, (h) => h.cluster.seats === 3);
    expect([here.rooms, here.cluster.seats]).toEqual([2, 3]);
    const metrics = await (await fetch(`${inspected.url}/metrics`)).text();
    expect(metrics).toMatch(/^parley_cluster_seats 3$/m);
    expect(metrics).toMatch(/^parley_cluster_rooms 2$/m);
    const there = await healthUntil(other, (h) => h.cluster.seats === 2);
    expect([there.rooms, there.cluster.seats]).toEqual([2, 2]);

    // Leaving gives the seat up: the shared room is no longer counted here, the other still is.
    c.close();
    const afterLeave = await healthUntil(inspected, (h) => h.cluster.seats === 2);
    expect([afterLeave.rooms, afterLeave.cluster.seats]).toEqual([1, 2]);
    a.close();
    expect((await healthUntil(inspected, (h) => h.cluster.seats === 1)).rooms).toBe(1);
  });
});

describe('the inspector with --redis', () => {
  it('shows the rooms with a seat on this node, as its own steps and the other nodes’ changes leave them', async () => {
    const viewer = await connectViewer(inspected.inspector!.eventsUrl);
    viewers.push(viewer);
    const a = await join(inspected, 'seen-here');
    await viewer.waitFor((events) => shownRoom(events, 'seen-here')?.value === 'waiting', 'the room, waiting');
    expect(shownRoom(viewer.events, 'seen-here')?.peers).toEqual(['here']);

    // The partner joins through the other node: this node learns it from the `ready` it relays.
    await join(other, 'seen-here');
    await a.next('ready');
    await viewer.waitFor((events) => shownRoom(events, 'seen-here')?.value === 'ready', 'the room, ready');
    expect(shownRoom(viewer.events, 'seen-here')?.peers).toEqual(['here', 'here']);
    expect(
      viewer
        .of('room:seen-here')
        .some((event) => event.type === '@xstate.event' && event.event.type === 'parley.changedOnAnotherNode'),
    ).toBe(true);

    // A room only on the other node is not this node's to show.
    await join(other, 'not-seen-here');

    // This node's peer leaves: its step is shown, then the room ends as far as this node sees it.
    a.close();
    await viewer.waitFor((events) => shownRoom(events, 'seen-here')?.status === 'stopped', 'the room, stopped');
    expect(
      viewer
        .of('room:seen-here')
        .filter((event) => event.type === '@xstate.event')
        .map((event) => (event as { event: { type: string } }).event.type),
    ).toEqual(['room.join', 'parley.changedOnAnotherNode', 'room.leave']);
    expect(viewer.of('room:seen-here').at(-1)).toMatchObject({
      type: '@xstate.snapshot',
      event: { type: 'xstate.stop' },
    });
    expect(viewer.of('room:not-seen-here')).toEqual([]);
  });
});

describe('ClusterRoomView', () => {
  const stepper = createSnapshotStepper(roomMachine);
  const room = (events: RoomEvent[]): RoomSnapshot =>
    events.reduce((snapshot, event) => stepper.step(snapshot, event)[0], stepper.initial({ room: 'r' })[0]);

  function viewWith(seatedHere: string[], reads: Array<RoomSnapshot | undefined>) {
    const told: string[] = [];
    const pending: Array<() => void> = [];
    const view = new ClusterRoomView({
      observer: {
        roomOpened: (key, snapshot) => told.push(`opened ${key} ${String(snapshot.value)}`),
        roomChanged: (key, event, snapshot) => told.push(`${event.type} ${key} ${String(snapshot.value)}`),
        roomDisposed: (key) => told.push(`disposed ${key}`),
      },
      seatedHere: (peerId) => seatedHere.includes(peerId),
      // Each read answers when the test says so, with the next snapshot in `reads`.
      read: () => new Promise((resolve) => pending.push(() => resolve(reads.shift()))),
    });
    const answerRead = async () => {
      pending.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 0));
    };
    return { view, told, pending, answerRead };
  }

  it('shows only rooms with a seat here, and reads again when a change came during a read', async () => {
    const join = (peerId: string): RoomEvent => ({ type: 'room.join', peerId });
    const { view, told, pending, answerRead } = viewWith(
      ['a'],
      [room([join('a'), join('b')]), room([join('a'), join('b'), { type: 'room.leave', peerId: 'b' }])],
    );
    view.stepped('elsewhere', join('x'), room([join('x')]));
    view.stepped('r', join('a'), room([join('a')]));
    // Its own step's effects need no read.
    view.touched('r');
    expect(pending).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Two effects from another node while one read runs: one more read after it, not two.
    view.touched('r');
    view.touched('r');
    expect(pending).toHaveLength(1);
    await answerRead();
    expect(pending).toHaveLength(1);
    await answerRead();
    expect(told).toEqual([
      'opened r waiting',
      'room.join r waiting',
      'parley.changedOnAnotherNode r ready',
      'parley.changedOnAnotherNode r waiting',
    ]);
    // The last seat here leaves: the step, then the room ends in the view.
    view.stepped('r', { type: 'room.leave', peerId: 'a' }, room([]));
    expect(told.slice(-2)).toEqual(['room.leave r empty', 'disposed r']);
  });
});
