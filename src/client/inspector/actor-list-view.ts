/**
 * The list of live actors, grouped by room, virtualized: only the rows in view (plus a few)
 * exist in the DOM, positioned with transforms over a spacer as tall as the whole list, so a
 * thousand rooms cost what twenty do. Rows: a header per group (`inspector-room`), then its
 * actors (`inspector-actor`).
 */
import type { ActorGroup, ActorRecord } from './actor-store.js';

/** One row of the flattened list. */
export type ListRow =
  | { readonly kind: 'group'; readonly group: ActorGroup }
  | { readonly kind: 'actor'; readonly actor: ActorRecord; readonly group: ActorGroup };

/** Flattens groups into rows: each group's header, then its actors. */
export function listRows(groups: readonly ActorGroup[]): ListRow[] {
  return groups.flatMap((group) => [
    { kind: 'group' as const, group },
    ...group.actors.map((actor) => ({ kind: 'actor' as const, actor, group })),
  ]);
}

/** Which rows to render for a viewport: `[first, end)`, with `overscan` rows either side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  rowCount: number,
  overscan = 8,
): { first: number; end: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(rowCount, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, end: Math.max(first, end) };
}

const KIND_LABELS: Record<ActorRecord['kind'], string> = {
  room: 'room',
  session: 'session',
  peer: 'peer',
  signaling: 'signaling',
  other: 'actor',
};

/** A virtualized list in `viewport` (a scrolling element). */
export interface ActorListView {
  /** Shows `rows`, marking `selectedId`; renders only what is in view. */
  render(rows: readonly ListRow[], selectedId: string | undefined): void;
  /** Scrolls so the row of `actorId` is in view. */
  reveal(actorId: string): void;
}

/** Creates the list; `onSelect` is called with the id of a clicked (or keyboard-chosen) actor. */
export function createActorListView(
  viewport: HTMLElement,
  onSelect: (actorId: string) => void,
  onScroll: () => void,
  rowHeight = 28,
): ActorListView {
  const spacer = document.createElement('div');
  spacer.className = 'list-spacer';
  viewport.append(spacer);
  const pool: HTMLElement[] = [];
  let rows: readonly ListRow[] = [];
  let selected: string | undefined;

  viewport.addEventListener('scroll', onScroll, { passive: true });
  viewport.addEventListener('click', (event) => {
    const row = (event.target as Element).closest<HTMLElement>('[data-actor-id]');
    const id = row?.dataset['actorId'];
    if (id !== undefined) onSelect(id);
  });
  viewport.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    event.preventDefault();
    const actors = rows.filter((row) => row.kind === 'actor');
    const index = actors.findIndex((row) => row.actor.id === selected);
    const next = actors[Math.max(0, Math.min(actors.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)))];
    if (next !== undefined) onSelect(next.actor.id);
  });

  const rowElement = (index: number): HTMLElement => {
    let element = pool[index];
    if (element === undefined) {
      element = document.createElement('div');
      const name = document.createElement('span');
      name.className = 'row-name';
      const state = document.createElement('span');
      state.className = 'row-state';
      element.append(name, state);
      pool[index] = element;
      spacer.append(element);
    }
    return element;
  };

  const fill = (element: HTMLElement, row: ListRow, top: number) => {
    const [name, state] = element.children as unknown as [HTMLElement, HTMLElement];
    element.style.transform = `translateY(${top}px)`;
    element.hidden = false;
    delete element.dataset['actorId'];
    delete element.dataset['room'];
    delete element.dataset['group'];
    delete element.dataset['state'];
    delete element.dataset['kind'];
    if (row.kind === 'group') {
      element.className = 'row group';
      element.dataset['testid'] = 'inspector-room';
      element.setAttribute('role', 'presentation');
      element.removeAttribute('aria-selected');
      element.dataset['group'] = row.group.key;
      if (row.group.room !== undefined) element.dataset['room'] = row.group.room;
      name.textContent = row.group.room !== undefined ? `room ${row.group.room}` : row.group.label;
      state.textContent = `${row.group.actors.length}`;
      element.title = '';
      return;
    }
    const { actor } = row;
    element.className = `row actor kind-${actor.kind}${actor.id === selected ? ' selected' : ''}`;
    element.dataset['testid'] = 'inspector-actor';
    element.setAttribute('role', 'option');
    element.setAttribute('aria-selected', String(actor.id === selected));
    element.dataset['actorId'] = actor.id;
    element.dataset['kind'] = actor.kind;
    element.dataset['state'] = actor.stateText;
    if (actor.room !== undefined) element.dataset['room'] = actor.room;
    // The group's header names the room; a peer's and its signaling link's ids share the socket id.
    name.textContent = actor.kind === 'room' ? KIND_LABELS.room : `${KIND_LABELS[actor.kind]} ${shortId(actor.id)}`;
    state.textContent = actor.shortState;
    element.title = `${actor.id}\n${actor.name}: ${actor.stateText}`;
  };

  const draw = () => {
    spacer.style.height = `${rows.length * rowHeight}px`;
    const { first, end } = visibleRange(viewport.scrollTop, viewport.clientHeight, rowHeight, rows.length);
    let used = 0;
    for (let index = first; index < end; index++) {
      const row = rows[index];
      if (row !== undefined) fill(rowElement(used++), row, index * rowHeight);
    }
    for (let index = used; index < pool.length; index++) {
      const element = pool[index];
      if (element !== undefined) {
        element.hidden = true;
        delete element.dataset['actorId'];
        delete element.dataset['testid'];
      }
    }
  };

  return {
    render(next, selectedId) {
      rows = next;
      selected = selectedId;
      draw();
    },
    reveal(actorId) {
      const index = rows.findIndex((row) => row.kind === 'actor' && row.actor.id === actorId);
      if (index === -1) return;
      const top = index * rowHeight;
      if (top < viewport.scrollTop) viewport.scrollTop = top;
      else if (top + rowHeight > viewport.scrollTop + viewport.clientHeight)
        viewport.scrollTop = top + rowHeight - viewport.clientHeight;
    },
  };
}

/**
 * `peer:AbCdEf123456:signaling` → `AbCdEf12…`, `session:Xy…` → `Xy…`: the socket or session
 * id, shortened; the full id is in the row's tooltip.
 */
function shortId(id: string): string {
  const parts = id.split(':');
  const core = parts.length >= 2 ? (parts[1] ?? id) : id;
  return core.length > 10 ? `${core.slice(0, 8)}…` : core;
}
