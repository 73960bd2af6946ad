/**
 * Model-based test of the signaling server: every shortest path of the room machine, from
 * `xstate/graph`, is driven against the real server with real socket.io-clients, and at each step
 * the server's room and what each client received are checked against the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { roomMachine, type RoomEvent } from '../src/machines/room-machine.js';
import { connectClient, startTestServer, type TestClient, type TransportMode } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

type RoomSnapshot = SnapshotFrom<typeof roomMachine>;
const PEERS = ['a', 'b', 'c'] as const;

let server: RunningParleyServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const model = createTestModel(roomMachine, {
  input: { room: 'model' },
  events: PEERS.flatMap((peerId): RoomEvent[] => [
    { type: 'room.join', peerId },
    { type: 'room.leave', peerId },
  ]),
});
const paths = model.getShortestPaths();

describe('the server follows the room machine', () => {
  it('has a path to every state worth testing', () => {
    const states = new Set(paths.map((path) => path.state.value));
    expect(states).toEqual(new Set(['empty', 'waiting', 'ready']));
    expect(paths.length).toBeGreaterThanOrEqual(10);
  });

  paths.forEach((path, index) => {
    it(`path ${index}: ${path.description}`, async () => {
      const room = `model-${index}`;
      // Alternate transports and ways of leaving so every path mix is covered across the suite.
      const mode: TransportMode = (['websocket', 'polling', 'upgrade'] as const)[index % 3];
      const clients = new Map<string, TestClient>();
      let previous: RoomSnapshot | undefined;
      const socketIdOf = (peerId: string) => clients.get(peerId)?.socket.id;

      const checkServer = async (expected: RoomSnapshot): Promise<void> => {
        const view = () => {
          const actual = server.signaling.rooms.view(room);
          return actual && { state: actual.state, peers: actual.peers };
        };
        const wanted =
          expected.value === 'empty'
            ? undefined
            : {
                state: expected.value,
                peers: expected.context.peers.map((p) => ({ id: socketIdOf(p.id), role: p.role })),
              };
        await expect.poll(view, { timeout: 10_000 }).toEqual(wanted);
      };

      try {
        await path.test({
          events: {
            'room.join': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.join' }>;
              const before = previous ?? state;
              if (clients.get(peerId)?.socket.connected) return; // a member joining again: the machine ignores it
              const waiting = before.value === 'waiting' ? before.context.peers[0] : undefined;
              const readyBefore = waiting ? (clients.get(waiting.id)?.all('ready').length ?? 0) : 0;
              clients.get(peerId)?.close();
              const client = await connectClient(server.url, { room, mode });
              clients.set(peerId, client);
              const admitted = state.context.peers.find((p) => p.id === peerId);
              if (admitted) {
                expect((await client.next('role')).args).toEqual([{ room, role: admitted.role }]);
                if (waiting) await clients.get(waiting.id)!.waitForCount('ready', readyBefore + 1);
              } else {
                expect((await client.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
              }
            },
            'room.leave': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.leave' }>;
              const client = clients.get(peerId);
              if (!client?.socket.connected) return; // not a member: the machine ignores it
              const remaining = state.value === 'waiting' ? clients.get(state.context.peers[0].id) : undefined;
              const leftBefore = remaining?.all('peer-left').length ?? 0;
              if (index % 2 === 0) {
                client.socket.emit('leave');
                await client.next('disconnect');
              } else {
                client.close();
              }
              if (remaining) await remaining.waitForCount('peer-left', leftBefore + 1);
            },
          },
          states: {
            '*': async (state) => {
              await checkServer(state);
              previous = state;
            },
          },
        });
      } finally {
        for (const client of clients.values()) client.close();
      }
    });
  });
});
