/**
 * XState's pure `transition(machine, snapshot, event)`, without its per-call cost.
 *
 * `transition()` builds a throwaway actor (and with it an initial snapshot and an actor system)
 * on every call: about 20 KB of garbage, which is most of what a server allocates per join when
 * it keeps its rooms and sessions as snapshots. A stepper builds that inert actor scope once per
 * machine and passes it to the machine's own `transition` / `getInitialSnapshot` (the
 * `ActorLogic` interface), collecting the actions to execute exactly as `transition()` does.
 *
 * Only for machines that neither spawn nor invoke actors: those would register children in the
 * shared scope's system. Machines driven this way are checked for that when the stepper is made.
 */
import {
  createActor,
  createMachine,
  type ActorScope,
  type AnyStateMachine,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';

/** An action returned by a step, to be executed by the caller (`exec` runs the provided implementation). */
export interface SteppedAction {
  readonly type: string;
  readonly params: unknown;
  readonly info: unknown;
  readonly exec: ((info: never, params: never) => void) | undefined;
}

/** A machine's pure steps: the next snapshot and the actions to execute. */
export interface SnapshotStepper<TMachine extends AnyStateMachine> {
  initial(input: InputFrom<TMachine>): [SnapshotFrom<TMachine>, SteppedAction[]];
  step(snapshot: SnapshotFrom<TMachine>, event: EventFromLogic<TMachine>): [SnapshotFrom<TMachine>, SteppedAction[]];
}

/** Makes a stepper for `machine`, which must not spawn or invoke actors. */
export function createSnapshotStepper<TMachine extends AnyStateMachine>(machine: TMachine): SnapshotStepper<TMachine> {
  assertNoActors(machine);
  let collected: SteppedAction[] = [];
  // The scope's `self` is only read by actions that address the running actor (sendTo self,
  // spawn), which these machines don't have; an empty machine's actor stands in.
  const self = createActor(createMachine({}));
  const scope = {
    self,
    id: '',
    sessionId: '',
    system: self.system,
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: (action: SteppedAction) => {
      collected.push(action);
    },
  } as unknown as ActorScope<SnapshotFrom<TMachine>, EventFromLogic<TMachine>>;

  const run = <T>(compute: () => T): [T, SteppedAction[]] => {
    collected = [];
    const next = compute();
    const actions = collected;
    collected = [];
    return [next, actions];
  };
  return {
    initial: (input) => run(() => machine.getInitialSnapshot(scope, input) as SnapshotFrom<TMachine>),
    step: (snapshot, event) => run(() => machine.transition(snapshot, event, scope) as SnapshotFrom<TMachine>),
  };
}

function assertNoActors(machine: AnyStateMachine): void {
  const visit = (node: AnyStateMachine['root']): void => {
    if (node.invoke.length > 0) throw new Error(`createSnapshotStepper: state "${node.id}" invokes actors.`);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
}
