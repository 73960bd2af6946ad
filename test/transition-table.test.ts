/**
 * The memoized transition table (src/signaling/engine/transition-table.ts) beyond agreeing with
 * xstate (test/xstate-internals.property.test.ts does that for every state and event): which
 * machines it refuses, and that a step is computed once and then shared, which is what makes a
 * session's lifecycle event a map lookup.
 */
import { describe, expect, it } from 'vitest';
import { createMachine, setup, type AnyStateMachine } from 'xstate';
import { createTransitionTable } from '../src/signaling/engine/transition-table.js';
import { engineSessionMachine } from '../src/machines/engine-session-machine.js';

/** A machine without context: off ⇄ on, with an action on the way on. */
const toggle = setup({
  types: { events: {} as { type: 'flip' } | { type: 'noop'; reason: string } },
  actions: { lightUp: () => {} },
}).createMachine({
  id: 'toggle',
  initial: 'off',
  states: {
    off: { on: { flip: { target: 'on', actions: 'lightUp' } } },
    on: { on: { flip: 'off' } },
  },
});

describe('createTransitionTable', () => {
  it('starts in the initial state, and steps as the machine says, with its actions', () => {
    const table = createTransitionTable(toggle);
    expect(table.initial.value).toBe('off');
    expect(table.initial.status).toBe('active');
    const [on, actions] = table.next(table.initial, { type: 'flip' });
    expect(on.value).toBe('on');
    expect(actions.map((action) => action.type)).toEqual(['lightUp']);
    const [off, none] = table.next(on, { type: 'flip' });
    expect(off.value).toBe('off');
    expect(none).toEqual([]);
  });

  it('computes each (snapshot, event) step once and shares it', () => {
    const table = createTransitionTable(toggle);
    const first = table.next(table.initial, { type: 'flip' });
    const again = table.next(table.initial, { type: 'flip' });
    expect(again).toBe(first);
    // The snapshot it leads to is shared too, so the next step from it is looked up, not recomputed.
    expect(table.next(first[0], { type: 'flip' })).toBe(table.next(again[0], { type: 'flip' }));
  });

  it('tells events apart by their fields, not only their type', () => {
    const table = createTransitionTable(toggle);
    const a = table.next(table.initial, { type: 'noop', reason: 'a' });
    const b = table.next(table.initial, { type: 'noop', reason: 'b' });
    expect(a).not.toBe(b);
    expect(table.next(table.initial, { type: 'noop', reason: 'a' })).toBe(a);
  });

  it('keeps one row per snapshot object: equal steps from different tables are not mixed up', () => {
    const one = createTransitionTable(engineSessionMachine);
    const two = createTransitionTable(engineSessionMachine);
    const event = { type: 'transport.open', transport: 'polling' } as const;
    expect(one.next(one.initial, event)).not.toBe(two.next(two.initial, event));
    expect(one.next(one.initial, event)[0].value).toEqual(two.next(two.initial, event)[0].value);
  });

  it('refuses a machine with context, naming it', () => {
    const withContext = createMachine({ id: 'counter', context: { count: 0 }, initial: 'a', states: { a: {} } });
    expect(() => createTransitionTable(withContext as AnyStateMachine)).toThrow(
      'createTransitionTable: machine "counter" has context or initial actions; transitions would not be pure functions of the state.',
    );
  });

  it('refuses a machine that declares a context, even an empty one', () => {
    const declared = createMachine({ id: 'declared', context: {}, initial: 'a', states: { a: {} } });
    expect(() => createTransitionTable(declared)).toThrow(/machine "declared"/);
  });

  it('refuses a machine with initial actions', () => {
    const withEntry = createMachine({ id: 'greeter', entry: () => {}, initial: 'a', states: { a: {} } });
    expect(() => createTransitionTable(withEntry)).toThrow(/machine "greeter" has context or initial actions/);
    const withStateEntry = createMachine({ id: 'nested', initial: 'a', states: { a: { entry: () => {} } } });
    expect(() => createTransitionTable(withStateEntry)).toThrow(/machine "nested"/);
  });

  it('refuses a machine that is not active once started (a final initial state)', () => {
    const done = createMachine({ id: 'done', initial: 'end', states: { end: { type: 'final' } } });
    expect(() => createTransitionTable(done)).toThrow(/machine "done"/);
  });

  it('takes a machine whose context is empty', () => {
    const empty = createMachine({ id: 'empty', initial: 'a', states: { a: { on: { go: 'b' } }, b: {} } });
    const table = createTransitionTable(empty);
    expect(table.next(table.initial, { type: 'go' })[0].value).toBe('b');
  });
});
