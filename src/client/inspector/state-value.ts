/**
 * Reading an XState state value (`'idle'`, `{ session: { call: { ... } } }`) as the state ids
 * the inspector draws: dotted paths from the machine's root, e.g. `session.call.connection.connected`.
 */

/** The active leaves, as dotted paths, in the value's order (parallel regions side by side). */
export function activeLeaves(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  if (typeof value !== 'object' || value === null) return prefix === '' ? [] : [prefix.slice(0, -1)];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return prefix === '' ? [] : [prefix.slice(0, -1)];
  return entries.flatMap(([key, child]) => activeLeaves(child, `${prefix}${key}.`));
}

/** Every active state: the leaves and all their ancestors (the root, `''`, excluded). */
export function activeStateIds(value: unknown): Set<string> {
  const ids = new Set<string>();
  for (const leaf of activeLeaves(value)) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) ids.add(parts.slice(0, i).join('.'));
  }
  return ids;
}

/**
 * The value as one line, the way the web app's `data-state` shows the peer machine: each active
 * leaf as a dotted path, parallel regions separated by spaces.
 */
export function stateText(value: unknown): string {
  return activeLeaves(value).join(' ');
}

/** A short form for lists: the last two segments of each leaf, `stable.idle · connection.connected`. */
export function shortStateText(value: unknown): string {
  return activeLeaves(value)
    .map((leaf) => leaf.split('.').slice(-2).join('.'))
    .join(' · ');
}
