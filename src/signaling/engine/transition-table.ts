/**
 * A lazily built transition table for a machine without context: its next state and actions
 * depend only on the current state and the event, so each (state, event) pair is computed once
 * with XState's pure `transition()` and reused. Every session in the same state then shares one
 * immutable snapshot object, and a lifecycle event costs a map lookup instead of a full
 * `transition()` call (which builds an actor scope: tens of kilobytes of garbage per call, the
 * bulk of what tens of thousands of handshakes allocate).
 */
import type { AnyStateMachine, EventFromLogic, SnapshotFrom } from 'xstate';
import { createSnapshotStepper, type SteppedAction } from '../snapshot-stepper.js';

type Step<TMachine extends AnyStateMachine> = [SnapshotFrom<TMachine>, SteppedAction[]];

/** The machine's transitions, memoized per snapshot and event. */
export interface TransitionTable<TMachine extends AnyStateMachine> {
  /** The initial snapshot (initial actions, if any, are not run: such machines have none). */
  readonly initial: SnapshotFrom<TMachine>;
  /** Same result as xstate's `transition(machine, snapshot, event)`; what it returns is shared: read only. */
  next(snapshot: SnapshotFrom<TMachine>, event: EventFromLogic<TMachine>): Step<TMachine>;
}

/** Builds the table for `machine`, which must keep no context and have no initial actions. */
export function createTransitionTable<TMachine extends AnyStateMachine>(machine: TMachine): TransitionTable<TMachine> {
  const stepper = createSnapshotStepper(machine);
  const [initial, initialActions] = stepper.initial(undefined as never);
  const context: unknown = (initial as { context?: unknown }).context;
  const hasContext =
    (machine.config as { context?: unknown }).context !== undefined ||
    (context !== undefined && Object.keys(context as object).length > 0);
  // A context factory that needs input fails here, and xstate reports that as an 'error' snapshot.
  if (initialActions.length > 0 || hasContext || (initial as { status: string }).status !== 'active') {
    throw new Error(
      `createTransitionTable: machine "${machine.id}" has context or initial actions; transitions would not be pure functions of the state.`,
    );
  }
  const rows = new WeakMap<object, Map<string, Step<TMachine>>>();
  return {
    initial,
    next(snapshot, event) {
      let row = rows.get(snapshot);
      if (row === undefined) rows.set(snapshot, (row = new Map<string, Step<TMachine>>()));
      // Events are small, flat objects of literals (type and a reason): their JSON is their identity.
      const key = JSON.stringify(event);
      let step = row.get(key);
      if (step === undefined) row.set(key, (step = stepper.step(snapshot, event)));
      return step;
    },
  };
}
