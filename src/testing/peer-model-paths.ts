/**
 * Paths through the reference model (src/testing/peer-reference-model.ts), generated with
 * `xstate/graph`: the shortest path to every model state, second passes that start where a call
 * ended (a rejoin after a negotiated call, a call after `failed`), and seeded random walks for
 * longer stories. Each path is a list of model events; src/testing/model-path-runner.ts replays
 * it against an implementation.
 */
import { createActor } from 'xstate';
import { createTestModel, type AdjacencyMap, type AdjacencyValue } from 'xstate/graph';
import {
  peerReferenceModel,
  possiblePeerModelEvents,
  serializePeerModelState,
  type PeerModelEvent,
  type PeerModelEventType,
  type PeerModelSnapshot,
} from './peer-reference-model.js';
import { seededRandom } from './seeded-random.js';

/** One path: a name and the events to make happen, in order. */
export interface ModelPath<TEvent extends { readonly type: string }> {
  readonly name: string;
  readonly events: readonly TEvent[];
}

/** Which paths to generate. */
export interface PeerModelPathOptions {
  /**
   * The events the implementation under test can make happen; paths use no others. All by
   * default. A UI test on a real network, for instance, cannot make ICE fail on demand.
   */
  readonly events?: Iterable<PeerModelEventType>;
  /** Second passes: calls after a call that ended (rejoin, recovery, re-failure). Default true. */
  readonly secondPasses?: boolean;
  /** Seeded random walks (count and length); none by default. */
  readonly randomWalks?: { readonly count: number; readonly length: number; readonly seed?: number };
}

function modelFor(allowed: ReadonlySet<string> | undefined) {
  const possible = (snapshot: PeerModelSnapshot) =>
    possiblePeerModelEvents(snapshot).filter((event) => allowed === undefined || allowed.has(event.type));
  return createTestModel(peerReferenceModel, {
    events: possible,
    // createTestModel adds a bare event for every type the state handles: keep only the possible ones.
    filterEvents: (snapshot, event) =>
      possible(snapshot).some((candidate) => JSON.stringify(candidate) === JSON.stringify(event)),
    serializeState: (snapshot) => serializePeerModelState(snapshot),
  });
}

const inCall = (snapshot: PeerModelSnapshot) => snapshot.matches({ session: 'call' });

/** Names a path by its events, e.g. `user.join → remote.join → remote.answer`. */
export function describeEvents(events: readonly { readonly type: string }[]): string {
  return events.length === 0 ? '(start)' : events.map((event) => event.type).join(' → ');
}

/** The paths to drive an implementation along. */
export function peerModelPaths(options: PeerModelPathOptions = {}): ModelPath<PeerModelEvent>[] {
  const allowed = options.events === undefined ? undefined : new Set<string>(options.events);
  const model = modelFor(allowed);
  const possible = (snapshot: PeerModelSnapshot) =>
    possiblePeerModelEvents(snapshot).filter((event) => allowed === undefined || allowed.has(event.type));
  const shortest = model.getShortestPaths();
  const paths = shortest.map(eventsOf);
  const adjacency = model.getAdjacencyMap();

  // Every way into every state, not just the shortest: for each state of the chart and each
  // event it handles (told apart by what decides the outcome: the role, the signaling state, a
  // remote description, a held offer), the shortest path there and that event. Shortest paths
  // alone reach `backingOff` by `pc.failed` and never see a `disconnected` heal or time out.
  const covered = new Set(paths.flatMap(transitionsOf));
  for (const { events, state } of reachable(adjacency, replay([])).values()) {
    for (const { event, state: next } of transitionsFrom(adjacency, serializePeerModelState(state))) {
      const key = transitionKey(state, event);
      if (covered.has(key)) continue;
      covered.add(key);
      // Then let time run to the next timer of the policy, so that what the transition did to
      // the timers shows.
      const later = possible(next).find((candidate) => candidate.type.startsWith('clock.'));
      paths.push([...events, event, ...(later === undefined ? [] : [later])]);
    }
  }

  if (options.secondPasses ?? true) {
    const from = (events: readonly PeerModelEvent[], toState: (snapshot: PeerModelSnapshot) => boolean) =>
      [...reachable(adjacency, replay(events)).values()]
        .filter(({ state }) => toState(state))
        .map((suffix) => [...events, ...suffix.events]);
    // What a call may leak into the next one shows in its first moments: a remote candidate
    // that arrives before any description (a leaked remote description would apply it), the
    // first negotiation (a leaked request would add an offer), the first restart (a leaked
    // count would spend the restarts sooner, or give up at once).
    const firstMoments = (snapshot: PeerModelSnapshot) =>
      inCall(snapshot) &&
      ((!snapshot.context.remoteDescription && snapshot.context.heldCandidates > 0) ||
        (snapshot.matches({ session: { call: 'restarting' } }) && snapshot.context.restartAttempts === 1));
    // Re-failure: a new call after restarts ran out.
    for (const path of shortest.filter((path) => path.state.matches('failed'))) {
      paths.push(...from(eventsOf(path), firstMoments).slice(0, 3));
    }
    // Rejoin and recovery: a call that ended while something was negotiated or held (a remote
    // description, and an offer held behind ours or restarts counted), ended three ways.
    const busy = shortest.filter(
      (path) =>
        inCall(path.state) &&
        path.state.context.remoteDescription &&
        (path.state.context.heldOffer !== 'none' || path.state.context.restartAttempts > 0),
    );
    for (const path of busy) {
      for (const type of ['user.hangUp', 'user.rejoin', 'remote.leave'] as const) {
        if (allowed !== undefined && !allowed.has(type)) continue;
        paths.push(...from([...eventsOf(path), { type }], firstMoments).slice(0, 1));
      }
    }
  }

  if (options.randomWalks !== undefined) {
    const { count, length, seed = 1 } = options.randomWalks;
    const random = seededRandom(seed);
    for (let walk = 0; walk < count; walk += 1) paths.push(randomWalk(length, random, allowed));
  }

  const unique = new Map<string, PeerModelEvent[]>();
  for (const events of paths) unique.set(JSON.stringify(events), events);
  return [...unique.values()].map((events) => ({ name: describeEvents(events), events }));
}

type PeerTestModel = ReturnType<typeof modelFor>;
type PeerTestPath = ReturnType<PeerTestModel['getShortestPaths']>[number];

const eventsOf = (path: PeerTestPath): PeerModelEvent[] =>
  path.steps.map((step) => step.event).filter((event) => !event.type.startsWith('xstate.'));

/** The model state after `events` from the start. */
function replay(events: readonly PeerModelEvent[]): PeerModelSnapshot {
  const actor = createActor(peerReferenceModel).start();
  for (const event of events) actor.send(event);
  const snapshot = actor.getSnapshot();
  actor.stop();
  return snapshot;
}

type PeerAdjacency = AdjacencyMap<PeerModelSnapshot, PeerModelEvent>;

/** The model's transitions out of the state serialized as `key`. */
function transitionsFrom(adjacency: PeerAdjacency, key: string): { event: PeerModelEvent; state: PeerModelSnapshot }[] {
  const node = (adjacency as Record<string, AdjacencyValue<PeerModelSnapshot, PeerModelEvent> | undefined>)[key];
  return Object.values(node?.transitions ?? {});
}

/** A transition of the chart, told apart by what decides its outcome. */
function transitionKey(state: PeerModelSnapshot, event: PeerModelEvent): string {
  const { role, signaling, remoteDescription, heldOffer } = state.context;
  return JSON.stringify([state.value, event.type, role, signaling, remoteDescription, heldOffer !== 'none']);
}

/** The transitions a path takes. */
function transitionsOf(events: readonly PeerModelEvent[]): string[] {
  const actor = createActor(peerReferenceModel).start();
  const keys = events.map((event) => {
    const key = transitionKey(actor.getSnapshot(), event);
    actor.send(event);
    return key;
  });
  actor.stop();
  return keys;
}

/**
 * The shortest event sequence from `start` to every state reachable from it, in order of
 * length, by breadth-first search over the model's adjacency map (built once, where
 * `getShortestPathsFrom` would traverse the whole model again for every start).
 */
function reachable(
  adjacency: PeerAdjacency,
  start: PeerModelSnapshot,
): Map<string, { events: PeerModelEvent[]; state: PeerModelSnapshot }> {
  const reached = new Map([[serializePeerModelState(start), { events: [] as PeerModelEvent[], state: start }]]);
  for (const [key, { events }] of reached) {
    // A Map iterates over entries added during the loop: this is the queue.
    for (const { event, state } of transitionsFrom(adjacency, key)) {
      const next = serializePeerModelState(state);
      if (!reached.has(next)) reached.set(next, { events: [...events, event], state });
    }
  }
  return reached;
}

function randomWalk(length: number, random: () => number, allowed: ReadonlySet<string> | undefined): PeerModelEvent[] {
  const actor = createActor(peerReferenceModel).start();
  const events: PeerModelEvent[] = [];
  for (let step = 0; step < length; step += 1) {
    const possible = possiblePeerModelEvents(actor.getSnapshot()).filter(
      (event) => allowed === undefined || allowed.has(event.type),
    );
    const event = possible[Math.floor(random() * possible.length)];
    if (event === undefined) break;
    events.push(event);
    actor.send(event);
  }
  actor.stop();
  return events;
}
