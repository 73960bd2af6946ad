/**
 * Model-based test of the signaling server: every shortest path of the room machine, from
 * `xstate/graph`, is driven against the real server with real socket.io-clients, and at each step
 * the server's room and what each client received are checked against the machine.
 *
 * Besides joins and leaves, peers drop (their transport closes: the server holds their seat, with
 * connection state recovery on) and come back (the same socket recovers), members join again
 * (a second CONNECT on their session, which the server ignores) and strangers leave (a client of
 * another room leaves, which this room ignores). Resumes after a restart are driven in
 * test/signaling-restart.test.ts: the model's server does not restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import type { Socket } from 'socket.io-client';
import { getInitialSnapshot, type SnapshotFrom } from 'xstate';
import { isHeld, roomMachine, type RoomEvent } from '../src/machines/room-machine.js';
import { connectClient, startTestServer, type TestClient, type TransportMode } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { roomKey } from '../src/signaling/room-registry.js';

const roomKeyOf = (room: string) => roomKey(room, undefined);

type RoomSnapshot = SnapshotFrom<typeof roomMachine>;
const PEERS = ['a', 'b', 'c'] as const;

/**
 * The recovery window: long enough for the steps between a drop and a back on a busy machine,
 * short enough that a path where a held seat expires (an away peer's leave) waits for it.
 */
const WINDOW_MS = 4_000;

let server: RunningParleyServer;
beforeAll(async () => {
  server = await startTestServer({ engine: { connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } } });
});
afterAll(() => server.close());

const model = createTestModel(roomMachine, {
  input: { room: 'model' },
  events: [
    ...PEERS.flatMap((peerId): RoomEvent[] => [
      { type: 'room.join', peerId },
      { type: 'room.leave', peerId },
    ]),
    // One peer drops and comes back: every held state is reached with it, at a third of the
    // paths that letting all three drop would take.
    { type: 'room.drop', peerId: 'a' },
    { type: 'room.back', peerId: 'a' },
  ],
});
// Resumes need a restarted server (test/signaling-restart.test.ts); xstate/graph offers the
// event type anyway, payload-less, so paths through it are left out.
const shortestPaths = model
  .getShortestPaths()
  .filter((path) => path.steps.every((step) => step.event.type !== 'room.resume'));
const join = (peerId: string): RoomEvent => ({ type: 'room.join', peerId });
const leave = (peerId: string): RoomEvent => ({ type: 'room.leave', peerId });
const drop = (peerId: string): RoomEvent => ({ type: 'room.drop', peerId });
/**
 * Events the machine ignores change no state, so shortest paths seldom take them: members that
 * join again and strangers that leave, in every state, are driven on paths of their own.
 */
const ignoredEventPaths = [
  [join('a'), join('a')],
  [join('a'), leave('b')],
  [join('a'), join('b'), join('b'), join('a')],
  [join('a'), join('b'), leave('c')],
  [join('a'), drop('a'), leave('b'), join('a')],
  [join('a'), join('b'), drop('a'), leave('c'), join('b')],
].flatMap((events) =>
  model.getPathsFromEvents(events, { fromState: getInitialSnapshot(roomMachine, { room: 'model' }) }),
);
const paths = [...shortestPaths, ...ignoredEventPaths];

/** The state, and whether a seat is held in it: `waiting`, `ready (held)`, ... */
function stateName({ value, context }: RoomSnapshot): string {
  return isHeld(context) ? `${value} (held)` : value;
}

describe('the server follows the room machine', () => {
  it('has a path to every state worth testing', () => {
    const states = new Set(paths.map((path) => stateName(path.state)));
    expect(states).toEqual(new Set(['empty', 'waiting', 'waiting (held)', 'ready', 'ready (held)']));
    expect(paths.length).toBeGreaterThanOrEqual(40);
  });

  paths.forEach((path, index) => {
    it(`path ${index}: ${path.description}`, async () => {
      const room = `model-${index}`;
      // Alternate transports and ways of leaving so every path mix is covered across the suite.
      const mode: TransportMode = (['websocket', 'polling', 'upgrade'] as const)[index % 3];
      const clients = new Map<string, TestClient>();
      // Socket ids as admitted: socket.io-client forgets its id while disconnected.
      const socketIds = new Map<string, string>();
      const strangers: TestClient[] = [];
      let previous: RoomSnapshot | undefined;
      const presenceOf = (snapshot: RoomSnapshot, peerId: string) =>
        snapshot.context.peers.find((p) => p.id === peerId)?.presence;

      const checkServer = async (expected: RoomSnapshot): Promise<void> => {
        const view = () => {
          const actual = server.signaling.rooms.view(room);
          return actual && { state: actual.state, held: actual.held, peers: actual.peers };
        };
        const wanted =
          expected.value === 'empty'
            ? undefined
            : {
                state: expected.value,
                held: isHeld(expected.context),
                peers: expected.context.peers.map((p) => ({
                  id: socketIds.get(p.id),
                  role: p.role,
                  presence: p.presence,
                })),
              };
        await expect.poll(view, { timeout: 10_000 }).toEqual(wanted);
      };

      try {
        await path.test({
          events: {
            'room.join': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.join' }>;
              const before = previous ?? state;
              const member = clients.get(peerId);
              if (presenceOf(before, peerId) !== undefined && member !== undefined) {
                // A member joins again: a second CONNECT on its session, which the server ignores.
                // An away member has no session to send it on.
                if (!member.socket.connected) return;
                const seen = member.received.length;
                member.socket.io.engine.send(`0${JSON.stringify({ room })}`);
                // A round trip after it: had the CONNECT been taken, its answer would come first.
                await (member.socket as unknown as Socket)
                  .timeout(10_000)
                  .emitWithAck('data', { type: 'candidate', candidate: null });
                expect(member.received.slice(seen).map((r) => r.event)).not.toContain('role');
                return;
              }
              const waiting = before.hasTag('full') ? undefined : before.context.peers[0];
              const waitingHere = waiting !== undefined && waiting.presence === 'here';
              const readyBefore = waiting ? (clients.get(waiting.id)?.all('ready').length ?? 0) : 0;
              clients.get(peerId)?.close();
              const client = await connectClient(server.url, { room, mode });
              clients.set(peerId, client);
              const admitted = state.context.peers.find((p) => p.id === peerId);
              if (admitted) {
                socketIds.set(peerId, client.socket.id!);
                // With connection state recovery each event ends with its offset (socket.io's shape).
                expect((await client.next('role')).args[0]).toEqual({ room, role: admitted.role });
                expect((await client.next('resume-token')).args[0]).toEqual({ token: expect.any(String) });
                if (waitingHere) await clients.get(waiting.id)!.waitForCount('ready', readyBefore + 1);
              } else {
                expect((await client.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
              }
            },
            'room.leave': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.leave' }>;
              const before = previous ?? state;
              const presence = presenceOf(before, peerId);
              if (presence === undefined) {
                // A stranger leaves: a client of another room (same name, another secret) leaves it.
                const stranger = await connectClient(server.url, { room, secret: `elsewhere-${peerId}`, mode });
                strangers.push(stranger);
                stranger.socket.emit('leave');
                await stranger.next('disconnect');
                return;
              }
              const client = clients.get(peerId)!;
              const remaining = state.context.peers[0];
              const remainingClient = remaining?.presence === 'here' ? clients.get(remaining.id) : undefined;
              const leftBefore = remainingClient?.all('peer-left').length ?? 0;
              if (presence === 'away') {
                // An away peer leaves when the window passes without it coming back.
                client.close();
                await expect
                  .poll(() => server.signaling.rooms.member(roomKeyOf(room), socketIds.get(peerId)!), {
                    timeout: WINDOW_MS + 10_000,
                  })
                  .toBeUndefined();
              } else if (index % 2 === 0) {
                client.socket.emit('leave');
                await client.next('disconnect');
              } else {
                client.close();
              }
              if (remainingClient) await remainingClient.waitForCount('peer-left', leftBefore + 1);
            },
            'room.drop': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.drop' }>;
              const before = previous ?? state;
              if (presenceOf(before, peerId) !== 'here') return; // not connected: nothing to drop
              const client = clients.get(peerId)!;
              const drops = client.all('disconnect').length;
              // The transport goes away under the socket (not a leave): the server holds the seat.
              client.socket.io.engine.close();
              await client.waitForCount('disconnect', drops + 1);
            },
            'room.back': async ({ event, state }) => {
              const { peerId } = event as Extract<RoomEvent, { type: 'room.back' }>;
              const before = previous ?? state;
              if (presenceOf(before, peerId) !== 'away') return; // nothing held to come back to
              const client = clients.get(peerId)!;
              const connects = client.all('connect').length;
              client.socket.connect();
              await client.waitForCount('connect', connects + 1);
              expect(client.socket.recovered).toBe(true);
              expect(client.socket.id).toBe(socketIds.get(peerId));
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
        for (const client of [...clients.values(), ...strangers]) client.close();
      }
    });
  });
});
