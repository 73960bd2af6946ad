/**
 * The two places that step machines without xstate's `transition()` (for memory: see their
 * headers) must agree with it exactly: the snapshot stepper (room machine, with context) and the
 * memoized transition table (engine-session machine, no context). For random event sequences,
 * every step's next state, context, status and actions (type and params) equal what xstate's own
 * pure `transition()` computes. These pin the xstate version in package.json: an upgrade that
 * changes the internals they rely on fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMachine, fromPromise, initialTransition, transition, type AnyStateMachine } from 'xstate';
import { createSnapshotStepper } from '../src/signaling/snapshot-stepper.js';
import { createTransitionTable } from '../src/signaling/engine/transition-table.js';
import { engineSessionMachine, type EngineSessionEvent } from '../src/machines/engine-session-machine.js';
import { roomMachine, type RoomEvent } from '../src/machines/room-machine.js';

/** What a step did, comparable across implementations. */
function describeStep(
  snapshot: { value: unknown; context?: unknown; status: string },
  actions: readonly { type: string; params?: unknown }[],
) {
  return {
    value: snapshot.value,
    context: snapshot.context,
    status: snapshot.status,
    actions: actions.map((action) => ({ type: action.type, params: action.params })),
  };
}

const engineEvents: EngineSessionEvent[] = [
  { type: 'transport.open', transport: 'polling' },
  { type: 'transport.open', transport: 'websocket' },
  { type: 'transport.upgradeStart' },
  { type: 'transport.upgradeProbe' },
  { type: 'transport.upgrade' },
  { type: 'transport.upgradeFail' },
  { type: 'upgrade.timeout' },
  { type: 'heartbeat.due' },
  { type: 'transport.pingDelivered' },
  { type: 'client.pong' },
  { type: 'heartbeat.timeout' },
  { type: 'connect.timeout' },
  { type: 'transport.close', reason: 'transport close' },
  { type: 'transport.close', reason: 'transport error' },
  { type: 'client.close' },
  { type: 'client.fault', reason: 'parse error' },
  { type: 'client.fault', reason: 'slow consumer' },
  { type: 'client.fault', reason: 'limit exceeded' },
  { type: 'client.fault', reason: 'rate limited' },
  { type: 'client.fault', reason: 'payload too large' },
  { type: 'server.close', reason: 'server shutting down' },
  { type: 'server.close', reason: 'forced close' },
];

const roomEvent: fc.Arbitrary<RoomEvent> = fc.record({
  type: fc.constantFrom('room.join' as const, 'room.leave' as const),
  peerId: fc.constantFrom('a', 'b', 'c', 'd'),
});

describe('the transition table of the engine-session machine', () => {
  it('steps exactly as xstate transition() does, for every state and event reached', () => {
    const table = createTransitionTable(engineSessionMachine);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...engineEvents), { maxLength: 30 }), (events) => {
        let ours = table.initial;
        let [theirs] = initialTransition(engineSessionMachine);
        expect(ours.value).toEqual(theirs.value);
        for (const event of events) {
          const [nextOurs, oursActions] = table.next(ours, event);
          const [nextTheirs, theirsActions] = transition(engineSessionMachine, theirs, event);
          expect(describeStep(nextOurs, oursActions)).toEqual(describeStep(nextTheirs, theirsActions));
          ours = nextOurs;
          theirs = nextTheirs;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses machines it cannot memoize: with context', () => {
    expect(() => createTransitionTable(roomMachine as unknown as AnyStateMachine)).toThrow(/context/);
  });
});

describe('the snapshot stepper of the room machine', () => {
  it('steps exactly as xstate transition() does, context and action params included', () => {
    const stepper = createSnapshotStepper(roomMachine);
    fc.assert(
      fc.property(fc.array(roomEvent, { maxLength: 30 }), (events) => {
        const [first, initialActions] = stepper.initial({ room: 'r' });
        const [theirFirst, theirInitialActions] = initialTransition(roomMachine, { room: 'r' });
        expect(describeStep(first, initialActions)).toEqual(describeStep(theirFirst, theirInitialActions));
        let ours = first;
        let theirs = theirFirst;
        for (const event of events) {
          const [nextOurs, oursActions] = stepper.step(ours, event);
          const [nextTheirs, theirsActions] = transition(roomMachine, theirs, event);
          expect(describeStep(nextOurs, oursActions)).toEqual(describeStep(nextTheirs, theirsActions));
          ours = nextOurs;
          theirs = nextTheirs;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses machines that invoke actors', () => {
    const invoking = createMachine({
      initial: 'busy',
      states: { busy: { invoke: { src: fromPromise(() => Promise.resolve()) } } },
    });
    expect(() => createSnapshotStepper(invoking)).toThrow(/invokes actors/);
  });
});
