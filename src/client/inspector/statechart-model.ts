/**
 * A machine definition (the JSON of an XState config, as `@xstate.actor` carries it) read into
 * a tree of states and their transitions, with every target resolved to a state id (the dotted
 * path from the root, `''` being the root). What chart-layout.ts draws and what the viewer
 * matches events against.
 */

/** What kind of node a state is. */
export type ChartStateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One transition of a state. */
export interface ChartTransition {
  /** The id of the state that has it. */
  readonly source: string;
  /**
   * The event type it is taken on, as XState names it: `user.join`, `''` for an eventless
   * (`always`) transition, `xstate.after.<delay>.<node id>`, `xstate.done.actor.<invoke id>`,
   * `xstate.error.actor.<invoke id>`, `xstate.done.state.<node id>`; `*` and `prefix.*` match many.
   */
  readonly eventType: string;
  /** How to show it: `user.join`, `always`, `after connectTimeout`, `done setLocalDescription`. */
  readonly label: string;
  readonly guard: string | undefined;
  /** Resolved target state ids; empty when it has no target (actions only). */
  readonly targets: readonly string[];
  /** Targets as written, for those that could not be resolved. */
  readonly unresolved: readonly string[];
  readonly actions: readonly string[];
}

/** One state of the chart. */
export interface ChartState {
  /** Dotted path from the root (`''` for the root). */
  readonly id: string;
  /** Its key in its parent (the machine's id for the root). */
  readonly key: string;
  readonly kind: ChartStateKind;
  readonly initial: string | undefined;
  readonly tags: readonly string[];
  /** The `src` of each actor it invokes. */
  readonly invokes: readonly string[];
  readonly children: readonly ChartState[];
  readonly transitions: readonly ChartTransition[];
}

/** A parsed machine: its root and an index of its states by id. */
export interface Statechart {
  readonly root: ChartState;
  readonly states: ReadonlyMap<string, ChartState>;
  /** Every transition, in document order. */
  readonly transitions: readonly ChartTransition[];
}

type Config = Record<string, unknown>;

function isRecord(value: unknown): value is Config {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

/** A guard, action or actor reference as text: `isPolite`, `nextOperationIs`, `and`. */
function refName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value['type'] === 'string') return value['type'];
  return undefined;
}

function join(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

function parentOf(id: string): string {
  const dot = id.lastIndexOf('.');
  return dot === -1 ? '' : id.slice(0, dot);
}

/** One raw transition before its targets are resolved. */
interface RawTransition {
  readonly source: string;
  readonly eventType: string;
  readonly label: string;
  readonly config: unknown;
}

/**
 * Parses `definition` (a JSON string or an already parsed config); undefined when it is not a
 * machine config.
 */
export function parseStatechart(definition: string | Config | undefined): Statechart | undefined {
  let config: unknown = definition;
  if (typeof definition === 'string') {
    try {
      config = JSON.parse(definition) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!isRecord(config)) return undefined;
  const machineId = typeof config['id'] === 'string' ? config['id'] : '(machine)';

  // XState's own node ids: `machineId.path`, or the `id` a state sets for itself.
  const nodeIds = new Map<string, string>();
  const raws: RawTransition[] = [];
  const states = new Map<string, ChartState>();

  const read = (node: Config, id: string, key: string): Omit<ChartState, 'transitions'> & { raw: RawTransition[] } => {
    const nodeId = typeof node['id'] === 'string' ? node['id'] : id === '' ? machineId : `${machineId}.${id}`;
    nodeIds.set(nodeId, id);
    nodeIds.set(id === '' ? machineId : `${machineId}.${id}`, id);
    const childConfigs = isRecord(node['states']) ? Object.entries(node['states']) : [];
    const type = node['type'];
    const kind: ChartStateKind =
      type === 'parallel' || type === 'final' || type === 'history'
        ? type
        : childConfigs.length > 0
          ? 'compound'
          : 'atomic';

    const raw: RawTransition[] = [];
    const add = (eventType: string, label: string, value: unknown) => {
      for (const item of list(value)) raw.push({ source: id, eventType, label, config: item });
    };
    if (isRecord(node['on'])) {
      for (const [event, value] of Object.entries(node['on'])) add(event, event, value);
    }
    add('', 'always', node['always']);
    if (isRecord(node['after'])) {
      for (const [delay, value] of Object.entries(node['after'])) {
        add(`xstate.after.${delay}.${nodeId}`, `after ${/^\d+$/.test(delay) ? `${delay} ms` : delay}`, value);
      }
    }
    const invokes: string[] = [];
    list(node['invoke']).forEach((invoke, index) => {
      if (!isRecord(invoke)) return;
      const src = refName(invoke['src']) ?? 'actor';
      invokes.push(src);
      const invokeId = typeof invoke['id'] === 'string' ? invoke['id'] : `${nodeId}:invocation[${index}]`;
      add(`xstate.done.actor.${invokeId}`, `done ${src}`, invoke['onDone']);
      add(`xstate.error.actor.${invokeId}`, `error ${src}`, invoke['onError']);
    });
    add(`xstate.done.state.${nodeId}`, 'done', node['onDone']);

    const children = childConfigs
      .filter((entry): entry is [string, Config] => isRecord(entry[1]))
      .map(([childKey, child]) => {
        const { raw: childRaw, ...state } = read(child, join(id, childKey), childKey);
        raws.push(...childRaw);
        return state;
      });
    return {
      id,
      key,
      kind,
      initial: typeof node['initial'] === 'string' ? node['initial'] : undefined,
      tags: list(node['tags']).filter((tag): tag is string => typeof tag === 'string'),
      invokes,
      children: children as ChartState[],
      raw,
    };
  };

  const { raw: rootRaw, ...rootShell } = read(config, '', machineId);
  const allRaw = [...rootRaw, ...raws];
  const known = new Set<string>();
  const collect = (state: Omit<ChartState, 'transitions'>) => {
    known.add(state.id);
    for (const child of state.children) collect(child);
  };
  collect(rootShell);

  const resolve = (source: string, target: string): string | undefined => {
    if (target.startsWith('#')) {
      const path = target.slice(1);
      // The longest prefix that is a node id; the rest is a path below it.
      const parts = path.split('.');
      for (let i = parts.length; i > 0; i--) {
        const base = nodeIds.get(parts.slice(0, i).join('.'));
        if (base === undefined) continue;
        const id = parts.slice(i).reduce(join, base);
        return known.has(id) ? id : undefined;
      }
      return undefined;
    }
    const id = target.startsWith('.')
      ? target.slice(1).split('.').reduce(join, source)
      : target.split('.').reduce(join, source === '' ? '' : parentOf(source));
    return known.has(id) ? id : undefined;
  };

  const transitions: ChartTransition[] = allRaw.map(({ source, eventType, label, config: item }) => {
    const spec = typeof item === 'string' ? { target: item } : isRecord(item) ? item : {};
    const written = list(spec['target'] as string | string[] | undefined).filter(
      (target): target is string => typeof target === 'string',
    );
    const targets: string[] = [];
    const unresolved: string[] = [];
    for (const target of written) {
      const id = resolve(source, target);
      if (id === undefined) unresolved.push(target);
      else targets.push(id);
    }
    return {
      source,
      eventType,
      label,
      guard: refName(spec['guard']),
      targets,
      unresolved,
      actions: list(spec['actions']).flatMap((action) => {
        const name = refName(action);
        return name === undefined ? [] : [name];
      }),
    };
  });

  const finish = (shell: Omit<ChartState, 'transitions'>): ChartState => {
    const state: ChartState = {
      ...shell,
      children: shell.children.map(finish),
      transitions: transitions.filter((transition) => transition.source === shell.id),
    };
    states.set(state.id, state);
    return state;
  };
  const root = finish(rootShell);
  return { root, states, transitions };
}

/** Whether `transition` is taken on an event of type `eventType` (wildcards included). */
export function matchesEvent(transition: ChartTransition, eventType: string): boolean {
  const pattern = transition.eventType;
  if (pattern === eventType) return true;
  if (pattern === '*') return eventType !== '';
  return pattern.endsWith('.*') && eventType.startsWith(pattern.slice(0, -1));
}

/**
 * The transitions most likely taken by the step from `before` to `after` active states on
 * `eventType`: those on that event from a state that was active, preferring ones whose targets
 * are active now; plus eventless transitions into states that became active.
 */
export function takenTransitions(
  chart: Statechart,
  eventType: string,
  before: ReadonlySet<string>,
  after: ReadonlySet<string>,
): ChartTransition[] {
  const isActiveBefore = (id: string) => id === '' || before.has(id);
  const candidates = chart.transitions.filter(
    (transition) => eventType !== '' && matchesEvent(transition, eventType) && isActiveBefore(transition.source),
  );
  // Of the candidates of one source, the first whose targets are all active now (guards hidden).
  const bySource = new Map<string, ChartTransition>();
  for (const transition of candidates) {
    if (bySource.has(transition.source)) continue;
    if (transition.targets.every((target) => after.has(target) || target === ''))
      bySource.set(transition.source, transition);
  }
  // XState takes the transition of the deepest state that has one; its ancestors' do not fire.
  const sources = [...bySource.keys()];
  const deepest = [...bySource.values()].filter(
    ({ source }) => !sources.some((other) => other !== source && (source === '' || other.startsWith(`${source}.`))),
  );
  const entered = (id: string) => after.has(id) && !before.has(id);
  const eventless = chart.transitions.filter(
    ({ eventType, source, targets }) =>
      eventType === '' &&
      targets.some(entered) &&
      (before.has(source) || after.has(source) || after.has(parentOf(source))),
  );
  return [...deepest, ...eventless];
}
