/**
 * Replays a model path against an implementation. The model runs beside it: after each event
 * the implementation is given time to react (bounded, polling what it reports), and must then
 * report exactly what the model expects, on every field it reports. A path fails at the first
 * step where they disagree, with the path, the step and both sides in the error.
 */
import { createActor, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from 'xstate';
import type { ModelPath } from './peer-model-paths.js';

/** How a test makes model events happen to its implementation and reads what it did. */
export interface ModelDriver<TEvent, TObservation extends object> {
  /** Makes `event` happen (click the button, send the message, advance the clock). */
  perform(event: TEvent): void | Promise<void>;
  /**
   * What the implementation shows now. Only the fields returned are compared, so a driver of a
   * UI may report its status alone. Throw to fail the path (e.g. a broken invariant).
   */
  observe(): Partial<TObservation> | Promise<Partial<TObservation>>;
}

/** How long to wait for the implementation to agree after each step. */
export interface RunOptions {
  /** The bound on each step's wait, in milliseconds; 5 s by default. */
  readonly timeoutMs?: number;
  /** The pause between two observations while waiting, in milliseconds; 2 by default. */
  readonly intervalMs?: number;
}

/** Thrown when the implementation and the model disagree. */
export class ModelMismatchError extends Error {
  override readonly name = 'ModelMismatchError';

  constructor(
    readonly path: string,
    readonly step: number,
    readonly expected: object,
    readonly observed: object,
  ) {
    super(
      `path "${path}", step ${step}: the implementation did not do what the model expects\n` +
        `  expected: ${JSON.stringify(pick(expected, observed))}\n` +
        `  observed: ${JSON.stringify(observed)}`,
    );
  }
}

/**
 * Replays `path` on a fresh actor of `model` and against `driver`: the initial state is checked
 * first, then each event is performed and its state checked. `expected` turns a model snapshot
 * into what the implementation must report.
 */
export async function runModelPath<TModel extends AnyStateMachine, TObservation extends object>(
  model: TModel,
  path: ModelPath<EventFromLogic<TModel>>,
  driver: ModelDriver<EventFromLogic<TModel>, TObservation>,
  expected: (snapshot: SnapshotFrom<TModel>) => TObservation,
  options: RunOptions = {},
): Promise<void> {
  const actor = createActor(model).start();
  try {
    await agree(path.name, 0, expected(actor.getSnapshot()), driver, options);
    for (const [index, event] of path.events.entries()) {
      actor.send(event);
      await driver.perform(event);
      await agree(path.name, index + 1, expected(actor.getSnapshot()), driver, options);
    }
  } finally {
    actor.stop();
  }
}

async function agree<TObservation extends object>(
  path: string,
  step: number,
  expected: TObservation,
  driver: ModelDriver<never, TObservation>,
  { timeoutMs = 5_000, intervalMs = 2 }: RunOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const observed = await driver.observe();
    if (matches(expected, observed)) return;
    if (Date.now() >= deadline) throw new ModelMismatchError(path, step, expected, observed);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function matches(expected: object, observed: object): boolean {
  return Object.entries(observed).every(
    ([key, value]) =>
      !(key in expected) || JSON.stringify((expected as Record<string, unknown>)[key]) === JSON.stringify(value),
  );
}

function pick(expected: object, observed: object): object {
  return Object.fromEntries(Object.entries(expected).filter(([key]) => key in observed));
}
