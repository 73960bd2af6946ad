import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { serializeDefinition } from '../src/client/inspection-conversion.js';
import { layoutChart, targetNames, transitionText, type ChartBox } from '../src/client/inspector/chart-layout.js';
import { activeLeaves, activeStateIds, shortStateText, stateText } from '../src/client/inspector/state-value.js';
import { matchesEvent, parseStatechart, takenTransitions } from '../src/client/inspector/statechart-model.js';
import { engineSessionMachine } from '../src/machines/engine-session-machine.js';
import { peerMachine } from '../src/machines/peer-machine.js';
import { roomMachine } from '../src/machines/room-machine.js';
import { signalingLinkMachine } from '../src/machines/signaling-link-machine.js';

const MACHINES: [string, AnyStateMachine][] = [
  ['room', roomMachine],
  ['engine session', engineSessionMachine],
  ['peer', peerMachine],
  ['signaling link', signalingLinkMachine],
];

/** Every transition as XState itself resolved it: `source | event -> targets`. */
function xstateTransitions(machine: AnyStateMachine): string[] {
  const lines: string[] = [];
  const walk = (node: AnyStateMachine['root']) => {
    const source = node.path.join('.');
    for (const [event, transitions] of node.transitions)
      for (const t of transitions)
        lines.push(`${source} | ${event} -> ${(t.target ?? []).map((s) => s.path.join('.')).join(',')}`);
    for (const t of node.always ?? [])
      lines.push(`${source} |  -> ${(t.target ?? []).map((s) => s.path.join('.')).join(',')}`);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  return lines.sort();
}

function parse(machine: AnyStateMachine) {
  const chart = parseStatechart(serializeDefinition(machine.config));
  if (chart === undefined) throw new Error('not a chart');
  return chart;
}

describe('statechart from a machine definition', () => {
  it.each(MACHINES)(
    '%s: has every state, and every transition with XState’s own event type and targets',
    (_, machine) => {
      const chart = parse(machine);
      const ids: string[] = [];
      const walk = (node: AnyStateMachine['root']) => {
        ids.push(node.path.join('.'));
        for (const child of Object.values(node.states)) walk(child);
      };
      walk(machine.root);
      expect([...chart.states.keys()].sort()).toEqual(ids.sort());
      expect(chart.transitions.filter((t) => t.unresolved.length > 0)).toEqual([]);
      expect(chart.transitions.map((t) => `${t.source} | ${t.eventType} -> ${t.targets.join(',')}`).sort()).toEqual(
        xstateTransitions(machine),
      );
    },
  );

  it('knows compound, parallel, final and atomic states, initial states, tags and invoked actors', () => {
    const peer = parse(peerMachine);
    expect(peer.root.key).toBe('peer');
    expect(peer.states.get('session')).toMatchObject({ kind: 'compound', initial: 'waiting' });
    expect(peer.states.get('session.call')?.kind).toBe('parallel');
    expect(peer.states.get('session.call.negotiation.makingOffer')).toMatchObject({
      kind: 'atomic',
      invokes: ['createDescription'],
    });
    expect(parse(engineSessionMachine).states.get('closed')?.kind).toBe('final');
    expect(parse(roomMachine).states.get('ready')?.tags).toEqual(['full']);
  });

  it('labels transitions for people: guards, delays, invoke results, targets by their shortest unique name', () => {
    const peer = parse(peerMachine);
    const names = targetNames(peer);
    expect(names.get('session.call.connection.connected')).toBe('connected');
    expect(names.get('session.call.negotiation.stable.idle')).toBe('stable.idle');
    expect(names.get('idle')).toBe('idle');
    const texts = peer.transitions.map((t) => transitionText(t, names));
    expect(texts).toContain('user.join → joining');
    expect(texts).toContain('after connectTimeout → backingOff');
    expect(texts).toContain('done setLocalDescription → haveLocalOffer');
    expect(texts).toContain('always [and(nextOperationIs, isPolite)] → applyingRemoteOffer');
    expect(texts).toContain('signal.error / storeError');
    const room = parse(roomMachine);
    expect(room.transitions.map((t) => transitionText(t, targetNames(room)))).toContain(
      'room.join [isNewcomer] → ready',
    );
  });

  it('matches events, wildcards included', () => {
    const [t] = parse({ config: { id: 'w', on: { 'signal.*': '.a' }, states: { a: {} } } } as never).transitions;
    expect(t).toBeDefined();
    expect(matchesEvent(t, 'signal.offer')).toBe(true);
    expect(matchesEvent(t, 'user.join')).toBe(false);
  });

  it('finds the transition just taken: the deepest state’s, on the event, towards the active target', () => {
    const room = parse(roomMachine);
    const taken = takenTransitions(room, 'room.join', activeStateIds('waiting'), activeStateIds('ready'));
    expect(taken.map((t) => `${t.source}:${t.eventType}->${t.targets.join()}`)).toEqual(['waiting:room.join->ready']);

    const peer = parse(peerMachine);
    const inCall = { session: { call: { negotiation: { stable: 'idle' }, connection: 'connecting' } } };
    const connected = { session: { call: { negotiation: { stable: 'idle' }, connection: 'connected' } } };
    expect(
      takenTransitions(peer, 'pc.connected', activeStateIds(inCall), activeStateIds(connected)).map((t) => t.source),
    ).toEqual(['session.call.connection.connecting']);
    // `signal.role` in a call: the call's transition, not the session's targetless one.
    expect(
      takenTransitions(peer, 'signal.role', activeStateIds(connected), activeStateIds({ session: 'waiting' })).map(
        (t) => `${t.source}->${t.targets.join()}`,
      ),
    ).toEqual(['session.call->session.waiting']);
    // An offer taken in stable: the event is queued, then an eventless transition applies it.
    const applying = { session: { call: { negotiation: 'applyingRemoteOffer', connection: 'connecting' } } };
    const offer = takenTransitions(peer, 'signal.offer', activeStateIds(inCall), activeStateIds(applying));
    expect(offer.map((t) => `${t.source}:${t.eventType || 'always'}`)).toEqual([
      'session:signal.offer',
      'session.call.negotiation.stable.idle:always',
    ]);
  });
});

describe('chart layout', () => {
  const boxesOf = (box: ChartBox): ChartBox[] => [box, ...box.children.flatMap(boxesOf)];
  const inside = (inner: ChartBox, outer: ChartBox) =>
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height;
  const overlap = (a: ChartBox, b: ChartBox) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it.each(MACHINES)('%s: children inside their parent, siblings apart, rows inside their box', (_, machine) => {
    const layout = layoutChart(parse(machine), { maxWidth: 900 });
    const all = boxesOf(layout.root);
    expect(all).toHaveLength(layout.chart.states.size);
    for (const box of all) {
      for (const child of box.children) expect(inside(child, box)).toBe(true);
      box.children.forEach((a, i) => box.children.slice(i + 1).forEach((b) => expect(overlap(a, b)).toBe(false)));
      for (const row of box.rows) {
        expect(row.y).toBeGreaterThan(box.y);
        expect(row.y).toBeLessThan((box.children[0]?.y ?? box.y + box.height) + 1);
        expect(row.x + row.text.length * 6.7).toBeLessThanOrEqual(box.x + box.width);
      }
    }
    expect(layout.width).toBeGreaterThanOrEqual(layout.root.width);
  });

  it('flows children left to right and wraps at the width given', () => {
    const room = parse(roomMachine);
    const wide = layoutChart(room, { maxWidth: 2000 });
    const ys = wide.root.children.map((c) => c.y);
    expect(new Set(ys).size).toBe(1);
    const xs = wide.root.children.map((c) => c.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    const narrow = layoutChart(room, { maxWidth: 200 });
    expect(new Set(narrow.root.children.map((c) => c.y)).size).toBe(3);
    expect(narrow.boxes.get('ready')).toBe(narrow.root.children[2]);
  });

  it('keeps the peer machine readable in a 1000-pixel panel', () => {
    const layout = layoutChart(parse(peerMachine), { maxWidth: 1000 });
    expect(layout.width).toBeLessThan(1300);
    expect(layout.height).toBeLessThan(1600);
  });
});

describe('state values', () => {
  it('reads leaves, ancestors and text from simple, nested and parallel values', () => {
    const value = { session: { call: { negotiation: { stable: 'idle' }, connection: 'connected' } } };
    expect(activeLeaves('ready')).toEqual(['ready']);
    expect(activeLeaves(value)).toEqual(['session.call.negotiation.stable.idle', 'session.call.connection.connected']);
    expect(stateText(value)).toBe('session.call.negotiation.stable.idle session.call.connection.connected');
    expect(shortStateText(value)).toBe('stable.idle · connection.connected');
    expect([...activeStateIds(value)]).toEqual([
      'session',
      'session.call',
      'session.call.negotiation',
      'session.call.negotiation.stable',
      'session.call.negotiation.stable.idle',
      'session.call.connection',
      'session.call.connection.connected',
    ]);
    expect(activeLeaves(undefined)).toEqual([]);
  });
});
