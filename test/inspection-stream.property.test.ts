/**
 * The inspection stream does not lie: random sequences of joins (WebSocket, polling, upgraded
 * polling), leaves and disconnects over several rooms, against a real server with `--inspect`
 * and one viewer connected from the start. For every room, the snapshots the stream shows,
 * replayed, are what XState's own `transition()` of the room machine computes for the events the
 * stream says the room took; every session's likewise for the Engine.IO session machine, from
 * `handshaking` through `open` to `closed` (done). The joins' outcomes are checked against a
 * plain model (two per room), so the events themselves are the right ones too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { getInitialSnapshot, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { roomMachine } from '../src/machines/room-machine.js';
import { engineSessionMachine } from '../src/machines/engine-session-machine.js';
import type { InspectionEvent } from '../src/protocol/inspection-events.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { connectClient, startTestServer, type TestClient, type TransportMode } from './helpers/parley.js';
import { connectViewer, type StreamViewer } from './helpers/inspection-stream.js';

type Action =
  | { kind: 'join'; client: number; room: number; mode: TransportMode }
  | { kind: 'leave'; client: number; how: 'leave' | 'disconnect' }
  /** Long enough for a heartbeat (ping, pong) on every open session. */
  | { kind: 'wait' };

const CLIENTS = 5;
const PING_INTERVAL_MS = 100;
const ROOMS = 3;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      client: fc.nat(CLIENTS - 1),
      room: fc.nat(ROOMS - 1),
      mode: fc.constantFrom<TransportMode>('websocket', 'polling', 'upgrade'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('leave' as const),
      client: fc.nat(CLIENTS - 1),
      how: fc.constantFrom<'leave' | 'disconnect'>('leave', 'disconnect'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'wait' as const }) },
);

let server: RunningParleyServer;
let viewer: StreamViewer;
let run = 0;
/** Sessions replayed by earlier runs. */
const checkedSessions = new Set<string>();
beforeAll(async () => {
  // A short heartbeat, so that sessions also go through their heartbeat states during a run.
  server = await startTestServer({ inspect: {}, engine: { pingInterval: PING_INTERVAL_MS, pingTimeout: 2_000 } });
  viewer = await connectViewer(server.inspector!.eventsUrl);
});
afterAll(() => {
  viewer.close();
  server.close();
});

/** The stream's snapshot, as compared: what XState's snapshot says of status, value and context. */
function shown(snapshot: { status?: unknown; value?: unknown; context?: unknown }) {
  return { status: snapshot.status, value: snapshot.value, context: snapshot.context };
}

/**
 * Replays one actor's events from the stream through `machine` and checks every snapshot the
 * stream showed against XState's. Returns the values it went through.
 */
function replay(
  machine: AnyStateMachine,
  events: readonly InspectionEvent[],
  initial: () => AnyMachineSnapshot,
  contextOf: (snapshot: AnyMachineSnapshot) => unknown,
): unknown[] {
  const values: unknown[] = [];
  let snapshot: AnyMachineSnapshot | undefined;
  let ended = false;
  for (const event of events) {
    switch (event.type) {
      case '@xstate.actor': {
        // A room made again under the same name (after it emptied) starts over.
        const initialSnapshot = initial();
        snapshot = initialSnapshot;
        ended = false;
        expect(shown(event.snapshot)).toEqual({
          status: initialSnapshot.status,
          value: initialSnapshot.value,
          context: contextOf(initialSnapshot),
        });
        values.push(initialSnapshot.value);
        break;
      }
      case '@xstate.event':
        expect(ended).toBe(false);
        break;
      case '@xstate.snapshot': {
        if (snapshot === undefined) throw new Error(`a snapshot of ${event.sessionId} before its actor`);
        expect(ended).toBe(false);
        if (event.snapshot.status === 'stopped') {
          // A disposed room: stopped where it was.
          expect(shown(event.snapshot)).toEqual({
            status: 'stopped',
            value: snapshot.value,
            context: contextOf(snapshot),
          });
          ended = true;
          break;
        }
        const [next] = transition(machine, snapshot, event.event as never);
        snapshot = next;
        expect(shown(event.snapshot)).toEqual({ status: next.status, value: next.value, context: contextOf(next) });
        values.push(next.value);
        if (next.status !== 'active') ended = true;
        break;
      }
    }
  }
  return values;
}

describe('the inspection stream, replayed, is what the machines compute', () => {
  it('for random joins and leaves over several rooms and clients', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 14 }), async (actions) => {
        run += 1;
        const roomName = (index: number) => `p${run}-r${index}`;
        const clients = new Map<number, { client: TestClient; room: number }>();
        const members = new Map<number, Set<number>>();
        try {
          for (const action of actions) {
            if (action.kind === 'join') {
              if (clients.has(action.client)) continue;
              const client = await connectClient(server.url, { room: roomName(action.room), mode: action.mode });
              const inRoom = members.get(action.room) ?? new Set<number>();
              const refused = client.received.some((r) => r.event === 'connect_error');
              // The model: a room holds two.
              expect(refused).toBe(inRoom.size >= 2);
              if (refused) {
                expect(client.all('connect_error')[0].args[1]).toMatchObject({ code: 'room-full' });
                client.close();
                continue;
              }
              inRoom.add(action.client);
              members.set(action.room, inRoom);
              clients.set(action.client, { client, room: action.room });
              continue;
            }
            if (action.kind === 'wait') {
              await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS * 2));
              continue;
            }
            const joined = clients.get(action.client);
            if (joined === undefined) continue;
            const peerId = joined.client.socket.id;
            if (action.how === 'leave') joined.client.socket.emit('leave');
            else joined.client.close();
            clients.delete(action.client);
            members.get(joined.room)!.delete(action.client);
            await viewer.waitFor(
              (events) => events.some((e) => e.type === '@xstate.event' && e.event['peerId'] === peerId),
              `room.leave of ${peerId}`,
            );
          }
        } finally {
          for (const { client } of clients.values()) client.close();
        }
        // Everything this run made has ended: every session closed (the viewer is no session, and
        // refused clients' sessions count too), every room disposed.
        const sessionsOf = (events: readonly InspectionEvent[]) =>
          [...new Set(events.filter((e) => e.parley?.kind === 'session').map((e) => e.sessionId))].filter(
            (id) => !checkedSessions.has(id),
          );
        await viewer.waitFor(
          (events) =>
            sessionsOf(events).every((sid) =>
              viewer.of(sid).some((e) => e.type === '@xstate.snapshot' && e.snapshot.status === 'done'),
            ) &&
            [...members.keys()].every((room) =>
              viewer
                .of(`room:${roomName(room)}`)
                .some((e) => e.type === '@xstate.snapshot' && e.snapshot.status === 'stopped'),
            ),
          'the end of every session and room of the run',
        );

        for (let room = 0; room < ROOMS; room++) {
          const name = roomName(room);
          const events = viewer.of(`room:${name}`);
          if (!members.has(room)) continue;
          expect(events[0]).toMatchObject({
            type: '@xstate.actor',
            name: `room:${name}`,
            parley: { kind: 'room', room: name },
          });
          replay(
            roomMachine,
            events,
            () => getInitialSnapshot(roomMachine, { room: name }),
            (snapshot) => snapshot.context,
          );
          expect(server.signaling.rooms.view(name)).toBeUndefined();
        }
        for (const id of sessionsOf(viewer.events)) {
          checkedSessions.add(id);
          const events = viewer.of(id);
          expect(events[0]).toMatchObject({
            type: '@xstate.actor',
            name: 'engineSession',
            parley: { kind: 'session' },
          });
          const values = replay(
            engineSessionMachine,
            events,
            () => getInitialSnapshot(engineSessionMachine),
            () => ({}),
          );
          expect(values[0]).toBe('handshaking');
          expect(values.at(-1)).toBe('closed');
          expect(
            values.slice(1, -1).every((value) => typeof value === 'object' && value !== null && 'open' in value),
          ).toBe(true);
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
