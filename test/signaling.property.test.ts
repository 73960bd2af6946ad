/**
 * Property test of the signaling server: random sequences of join, leave, relay and abrupt
 * disconnect across several rooms and clients, over WebSocket, polling and upgraded polling,
 * run against the real server. The reference is the room machine itself (a RoomRegistry whose
 * effects are recorded), so the server is checked against the statechart, not against a second
 * hand-written model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connectClient, startTestServer, type TestClient, type TransportMode } from './helpers/parley.js';
import { RoomRegistry } from '../src/signaling/room-registry.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

type Action =
  | { kind: 'join'; client: number; room: number; mode: TransportMode }
  | { kind: 'leave'; client: number }
  | { kind: 'disconnect'; client: number }
  | { kind: 'relay'; client: number; count: number };

const CLIENTS = 5;
const ROOMS = 2;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      client: fc.nat(CLIENTS - 1),
      room: fc.nat(ROOMS - 1),
      mode: fc.constantFrom<TransportMode>('websocket', 'polling', 'upgrade'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), client: fc.nat(CLIENTS - 1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('relay' as const),
      client: fc.nat(CLIENTS - 1),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

let server: RunningParleyServer;
let run = 0;
beforeAll(async () => {
  // An abrupt disconnect here is a departure: without connection state recovery the seat is
  // released at once. Held seats are test/signaling-recovery.test.ts's and the room model's.
  server = await startTestServer({ engine: { connectionStateRecovery: false } });
});
afterAll(() => server.close());

/** A relayed message: who sent it, in which room, and a sequence number unique to the run. */
interface Tagged {
  type: 'candidate';
  candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number };
}
const tag = (from: string, room: string, seq: number): Tagged => ({
  type: 'candidate',
  candidate: {
    candidate: `candidate:${seq} 1 udp 1 127.0.0.1 9 typ host from ${from} room ${room}`,
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
});

async function runActions(actions: Action[]): Promise<void> {
  const prefix = `p${++run}`;
  const roomName = (room: number) => `${prefix}-r${room}`;
  const expectedReady = new Map<string, number>();
  const expectedPeerLeft = new Map<string, number>();
  /** What the machine said the current step must deliver: [peer, event, how many by now]. */
  let deliveries: [string, 'ready' | 'peer-left', number][] = [];
  let refused: string | undefined;
  const count = (counts: Map<string, number>, peer: string, event: 'ready' | 'peer-left'): void => {
    counts.set(peer, (counts.get(peer) ?? 0) + 1);
    deliveries.push([peer, event, counts.get(peer)!]);
  };
  const model = new RoomRegistry({
    welcomePeer: () => {},
    notifyReady: (peer) => count(expectedReady, peer, 'ready'),
    refuseRoomFull: (peer) => {
      refused = peer;
    },
    notifyPeerLeft: (peer) => count(expectedPeerLeft, peer, 'peer-left'),
  });
  /** Each ready and peer-left the step caused arrives before the next step starts. */
  const awaitDeliveries = async (): Promise<void> => {
    for (const [peer, event, total] of deliveries) {
      await everyone.find((r) => r.peer === peer)!.client.waitForCount(event, total);
    }
    deliveries = [];
  };
  // Model peer ids are `client:generation`, so a client that rejoins is a new peer, as on the wire.
  const sockets = new Map<number, { client: TestClient; peer: string; room: string }>();
  const everyone: { client: TestClient; peer: string; room: string; expectedData: Tagged[] }[] = [];
  let generation = 0;
  let seq = 0;

  const leaveOrDrop = async (index: number, how: 'leave' | 'disconnect'): Promise<void> => {
    const member = sockets.get(index);
    if (!member) return;
    sockets.delete(index);
    model.leave(member.room, member.peer);
    const socketId = member.client.socket.id;
    if (how === 'leave') {
      member.client.socket.emit('leave');
      await member.client.next('disconnect');
    } else {
      // Abrupt: the transport goes away without a Socket.IO DISCONNECT packet.
      member.client.socket.io.engine.close();
    }
    // The next action must meet the server after it has seen the departure.
    await expect
      .poll(() => server.signaling.rooms.view(member.room)?.peers.some((p) => p.id === socketId) ?? false, {
        timeout: 10_000,
      })
      .toBe(false);
  };

  try {
    for (const action of actions) {
      switch (action.kind) {
        case 'join': {
          await leaveOrDrop(action.client, 'disconnect');
          const room = roomName(action.room);
          const client = await connectClient(server.url, { room, mode: action.mode });
          const peer = `${action.client}:${++generation}`;
          const record = { client, peer, room, expectedData: [] as Tagged[] };
          everyone.push(record);
          refused = undefined;
          model.join(room, peer);
          if (refused === peer) {
            expect((await client.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
          } else {
            await client.next('role');
            sockets.set(action.client, record);
          }
          break;
        }
        case 'leave':
        case 'disconnect':
          await leaveOrDrop(action.client, action.kind);
          break;
        case 'relay': {
          const member = sockets.get(action.client);
          if (!member) break;
          const target = model.peerOf(member.room, member.peer);
          const recipient = everyone.find((r) => r.peer === target);
          const errorsBefore = member.client.all('error').length;
          for (let i = 0; i < action.count; i++) {
            const message = tag(member.peer, member.room, ++seq);
            member.client.socket.emit('data', message);
            recipient?.expectedData.push(message);
          }
          if (recipient) {
            // Every relayed message arrives once and in order: exactly what was sent, nothing else.
            await recipient.client.waitForCount('data', recipient.expectedData.length);
          } else {
            await member.client.waitForCount('error', errorsBefore + action.count);
          }
          break;
        }
      }
      await awaitDeliveries();
      // No room ever holds three peers, and the server's rooms are the machine's rooms.
      for (let room = 0; room < ROOMS; room++) {
        const actual = server.signaling.rooms.view(roomName(room));
        expect(actual?.peers.length ?? 0).toBeLessThanOrEqual(2);
      }
    }

    for (const { client, peer, expectedData } of everyone) {
      // No message crosses rooms or reaches its sender: each client got exactly the messages
      // its room's other peer sent while they were together, in order.
      expect(client.all('data').map((r) => r.args[0])).toEqual(expectedData);
      // Each ready follows a second join, and each peer-left a departure, as the machine says:
      // no more, no fewer.
      expect(client.all('ready')).toHaveLength(expectedReady.get(peer) ?? 0);
      expect(client.all('peer-left')).toHaveLength(expectedPeerLeft.get(peer) ?? 0);
    }
  } finally {
    for (const { client } of everyone) client.close();
  }
}

describe('signaling under random join, leave, relay and disconnect', () => {
  it('keeps rooms apart, at most two peers, ready after a second join, every message once and in order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 4, maxLength: 16 }), runActions), {
      numRuns: 25,
      endOnFailure: true,
    });
  }, 240_000);
});
