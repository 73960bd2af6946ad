/**
 * Model-based tests of the peer machine (xstate's `dieHard.test.ts` pattern): the machine is its
 * own model; `createTestModel` enumerates the shortest path to every reachable state for a
 * finite set of event cases, and each path is replayed against a real actor running the same
 * machine with fake effects (test/helpers/fake-peer-effects.ts) and a SimulatedClock. Effect
 * completions are driven by settling the fake's pending promises, delays by advancing the clock.
 * After every step the real actor must agree with the model, and each state is checked against
 * what the fakes observed.
 */
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, SimulatedClock, type AnyStateNode, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import {
  MAX_ICE_RESTARTS,
  PEER_TIMING,
  peerMachine,
  type PeerEvent,
  type PeerMachine,
} from '../src/machines/peer-machine.js';
import type { PeerRole } from '../src/protocol/signaling-events.js';
import { FakePeerEffects } from './helpers/fake-peer-effects.js';

type Snapshot = SnapshotFrom<PeerMachine>;

/** The queue is capped in the model so that the state space stays finite. */
const MAX_QUEUED = 2;

const CANDIDATE = { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

/** Event cases: one value per event type, plus the effect completions the traversal may pick. */
function eventCases(role: PeerRole) {
  return [
    { type: 'user.join' },
    { type: 'user.rejoin' },
    { type: 'user.hangUp' },
    { type: 'signal.role', room: 'r', role },
    { type: 'signal.ready' },
    { type: 'signal.offer', sdp: 'remote-offer' },
    { type: 'signal.answer', sdp: 'remote-answer' },
    { type: 'signal.candidate', candidate: CANDIDATE },
    { type: 'signal.peerLeft' },
    { type: 'signal.rejected', code: 'room-full', message: 'Room "r" is full' },
    { type: 'pc.negotiationNeeded' },
    { type: 'pc.connected' },
    { type: 'pc.disconnected' },
    { type: 'pc.iceFailed' },
    { type: 'xstate.done.actor.setLocalDescription', output: { type: 'offer', sdp: 'local' } },
    { type: 'xstate.done.actor.setRemoteDescription', output: undefined },
    { type: 'xstate.done.actor.addIceCandidate', output: undefined },
    { type: 'xstate.error.actor.setLocalDescription', error: new Error('injected') },
    { type: 'xstate.error.actor.setRemoteDescription', error: new Error('injected') },
    { type: 'xstate.error.actor.addIceCandidate', error: new Error('injected') },
  ] as unknown as PeerEvent[];
}

const CASE_TYPES: ReadonlySet<string> = new Set(eventCases('polite').map((event) => event.type));

/** Environment realism, so that the fakes can follow every path the model takes. */
function possible(snapshot: Snapshot, event: { type: string }): boolean {
  const { context } = snapshot;
  switch (event.type) {
    case 'signal.offer':
    case 'signal.answer':
    case 'signal.candidate':
    case 'pc.negotiationNeeded':
      return context.operations.length < MAX_QUEUED;
    case 'pc.connected':
      // ICE cannot connect before a remote description is applied.
      return context.remoteDescription !== undefined;
    case 'xstate.error.actor.setLocalDescription':
      // A failed answer would leave the fake in have-remote-offer, which the machine does not
      // model (see docs/statecharts.md, "Peer connection", "Limits"): inject failures of offers only.
      return snapshot.matches({ session: { call: { negotiation: 'makingOffer' } } });
    default:
      // Types without a case here (e.g. `signal.iceServers`) only change data the model ignores.
      return CASE_TYPES.has(event.type) || event.type.startsWith('xstate.after.');
  }
}

/** What the model distinguishes: the state value and an abstraction of the context. */
function serialize(snapshot: Snapshot): string {
  const { context } = snapshot;
  return JSON.stringify({
    value: snapshot.value,
    queue: context.operations.map((operation) => operation.type),
    remote: context.remoteDescription !== undefined,
    restarts: context.restartAttempts,
    role: context.role,
  });
}

/** A real actor of the machine with fake effects and a simulated clock. */
function system() {
  const effects = new FakePeerEffects();
  const clock = new SimulatedClock();
  const actor = createActor(effects.machine(), { clock });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { effects, clock, actor, errors };
}
type System = ReturnType<typeof system>;

const EFFECT_OF = /^xstate\.(done|error)\.actor\.(setLocalDescription|setRemoteDescription|addIceCandidate)$/;
const DELAY_OF = /^xstate\.after\.(\w+)\./;

async function execute(sut: System, event: PeerEvent | { type: string }): Promise<void> {
  const effect = EFFECT_OF.exec(event.type);
  const delay = DELAY_OF.exec(event.type);
  if (event.type === 'xstate.init') return;
  if (effect !== null) {
    await sut.effects.settle(
      effect[2] as 'setLocalDescription',
      effect[1] === 'error' ? new Error('injected') : undefined,
    );
  } else if (delay !== null) {
    sut.clock.increment(delayMs(delay[1], sut.actor.getSnapshot()));
    await Promise.resolve();
  } else {
    sut.actor.send(event as PeerEvent);
    await Promise.resolve();
  }
}

function delayMs(delay: string, snapshot: Snapshot): number {
  switch (delay) {
    case 'connectTimeout':
      return PEER_TIMING.connectTimeout;
    case 'disconnectGrace':
      return PEER_TIMING.disconnectGrace;
    case 'restartTimeout':
      return PEER_TIMING.restartTimeout;
    case 'restartBackoff':
      return PEER_TIMING.restartBaseDelay * 2 ** snapshot.context.restartAttempts;
    default:
      throw new Error(`unknown delay ${delay}`);
  }
}

/** Checks of each state against what the fake effects observed. */
function stateChecks(sut: () => System): Record<string, (state: Snapshot) => void> {
  const inCall = (state: string) => `#peer.session.call.${state}`;
  return {
    '#peer.idle': () => {
      expect(sut().effects.joins).toBe(0);
    },
    '#peer.joining': () => {
      expect(sut().effects.log.at(-1)).toBe('joinRoom');
    },
    '#peer.session': () => {
      expect(sut().effects.pc.closed).toBe(false);
    },
    '#peer.session.waiting': () => {
      expect(sut().effects.pc.remoteDescription).toBeUndefined();
      expect(sut().effects.count('setLocalDescription') + sut().effects.count('setRemoteDescription')).toBe(0);
    },
    [inCall('negotiation.makingOffer')]: () => {
      expect(sut().effects.inputOf<{ type: string }>('setLocalDescription').type).toBe('offer');
    },
    [inCall('negotiation.haveLocalOffer')]: () => {
      const { effects } = sut();
      expect(effects.pc.signalingState).toBe('have-local-offer');
      expect(effects.sent.filter((s) => s.type === 'offer').at(-1)).toEqual(effects.pc.localDescription);
    },
    [inCall('negotiation.applyingRemoteOffer')]: () => {
      expect(sut().effects.inputOf<{ type: string }>('setRemoteDescription').type).toBe('offer');
    },
    [inCall('negotiation.makingAnswer')]: () => {
      const { effects } = sut();
      expect(effects.pc.signalingState).toBe('have-remote-offer');
      expect(effects.inputOf<{ type: string }>('setLocalDescription').type).toBe('answer');
    },
    [inCall('negotiation.applyingRemoteAnswer')]: () => {
      expect(sut().effects.inputOf<{ type: string }>('setRemoteDescription').type).toBe('answer');
    },
    [inCall('negotiation.stable.applyingCandidate')]: () => {
      expect(sut().effects.count('addIceCandidate')).toBe(1);
      expect(sut().effects.pc.remoteDescription).toBeDefined();
    },
    [inCall('negotiation.haveLocalOffer.applyingCandidate')]: () => {
      expect(sut().effects.count('addIceCandidate')).toBe(1);
      expect(sut().effects.pc.remoteDescription).toBeDefined();
    },
    [inCall('negotiation.stable')]: () => {
      expect(sut().effects.pc.signalingState).toBe('stable');
    },
    [inCall('connection.connected')]: (state) => {
      expect(sut().effects.pc.remoteDescription).toBeDefined();
      expect(state.context.restartAttempts).toBe(0);
    },
    [inCall('connection.restarting')]: (state) => {
      expect(sut().effects.pc.restartIceCalls).toBeGreaterThanOrEqual(1);
      expect(state.context.restartAttempts).toBeGreaterThanOrEqual(1);
      expect(state.context.restartAttempts).toBeLessThanOrEqual(MAX_ICE_RESTARTS);
    },
    '#peer.failed': (state) => {
      expect(state.context.restartAttempts).toBe(MAX_ICE_RESTARTS);
      expect(sut().effects.pc.closed).toBe(true);
      expect(sut().effects.log.at(-1)).toBe('leaveRoom');
    },
    '#peer.closed': () => {
      expect(sut().effects.log).toContain('leaveRoom');
      if (sut().effects.pcs.length > 0) expect(sut().effects.pc.closed).toBe(true);
    },
    '#peer.rejected': (state) => {
      expect(state.context.error?.code).toBe('room-full');
    },
  };
}

/**
 * `createTestModel` refuses machines with `invoke` or `after`, because a pure traversal cannot
 * run actors or timers. The model is therefore the peer machine's own config, rewritten
 * mechanically: each invoke's `onDone`/`onError` becomes a transition on the very event the real
 * actor receives (`xstate.done.actor.<id>`, `xstate.error.actor.<id>`), each `after` entry a
 * transition on `xstate.after.<delay>.<state id>`. Same states, guards and assignments; the
 * event cases above then choose when effects finish and timers fire.
 */
function withExplicitEffects(node: AnyStateNode): Record<string, unknown> {
  const { invoke, after, on, states, ...rest } = node.config as Record<string, unknown> & {
    invoke?: { id: string; onDone: unknown; onError: unknown };
    after?: Record<string, unknown>;
    on?: Record<string, unknown>;
  };
  const explicit: Record<string, unknown> = { ...on };
  if (invoke !== undefined) {
    explicit[`xstate.done.actor.${invoke.id}`] = invoke.onDone;
    explicit[`xstate.error.actor.${invoke.id}`] = invoke.onError;
  }
  for (const [delay, transition] of Object.entries(after ?? {}))
    explicit[`xstate.after.${delay}.${node.id}`] = transition;
  const children = Object.fromEntries(
    Object.entries(node.states).map(([key, child]) => [key, withExplicitEffects(child)]),
  );
  return { ...rest, on: explicit, ...(states === undefined ? {} : { states: children }) };
}

const modelMachine = createMachine(withExplicitEffects(peerMachine.root) as never).provide({
  actions: peerMachine.implementations.actions,
  guards: peerMachine.implementations.guards,
} as never) as unknown as PeerMachine;

function modelFor(role: PeerRole) {
  return createTestModel(modelMachine, {
    events: eventCases(role),
    filterEvents: possible,
    serializeState: serialize,
  });
}

describe.each<PeerRole>(['impolite', 'polite'])('peer machine model (%s)', (role) => {
  const model = modelFor(role);
  const paths = model.getShortestPaths();

  it('reaches every state of the chart', () => {
    const reached = new Set(
      paths.flatMap((path) => path.steps.flatMap((step) => step.state._nodes.map((node) => node.id))),
    );
    const all: string[] = [];
    const walk = (node: (typeof peerMachine)['root']) => {
      all.push(node.id);
      for (const child of Object.values(node.states)) walk(child);
    };
    walk(peerMachine.root);
    expect(all.filter((id) => !reached.has(id))).toEqual([]);
  });

  it('has a way out of every reachable state', () => {
    const adjacency = model.getAdjacencyMap();
    const entries = Object.entries(adjacency) as [string, { transitions: Record<string, { state: Snapshot }> }][];
    const stuck = entries
      .filter(([key, { transitions }]) => Object.values(transitions).every(({ state }) => serialize(state) === key))
      .map(([key]) => key);
    expect(Object.keys(adjacency).length).toBeGreaterThan(100);
    expect(stuck).toEqual([]);
  });

  it(`replays all ${paths.length} shortest paths against the machine with fake effects`, async () => {
    let current: System | undefined;
    const sut = () => current!;
    const states = stateChecks(sut);
    for (const path of paths) {
      current = system();
      const executors = new Proxy(
        {},
        {
          get: () => async (step: { event: PeerEvent; state: Snapshot }) => {
            await execute(sut(), step.event);
            const real = sut().actor.getSnapshot();
            expect(real.status).toBe('active');
            expect(serialize(real)).toBe(serialize(step.state));
            expect(sut().effects.violations).toEqual([]);
            expect(sut().errors).toEqual([]);
          },
        },
      );
      await path.test({ events: executors, states });
      current.actor.stop();
    }
    expect(paths.length).toBeGreaterThan(100);
  }, 120_000);
});
