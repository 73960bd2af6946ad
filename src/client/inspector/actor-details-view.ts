/**
 * The selected actor: what it is, its statechart with the active states and the transition just
 * taken, its context (collapsible JSON) and its event log (time, event, payload, resulting state).
 * The chart is drawn once per definition and then only re-marked.
 */
import type { ActorRecord, EventLogEntry } from './actor-store.js';
import { drawChart, type ChartView } from './chart-view.js';
import { activeStateIds } from './state-value.js';
import { parseStatechart, takenTransitions } from './statechart-model.js';

/** The elements the view fills; index.html provides them. */
export interface DetailsElements {
  readonly panel: HTMLElement;
  readonly title: HTMLElement;
  readonly meta: HTMLElement;
  readonly chart: HTMLElement;
  readonly context: HTMLElement;
  readonly log: HTMLTableSectionElement;
}

/** The details panel. */
export interface DetailsView {
  /** Shows `actor` (undefined: nothing selected); cheap when nothing changed. */
  render(actor: ActorRecord | undefined): void;
}

const MAX_LOG_ROWS = 100;

/** Creates the panel's view. */
export function createDetailsView(elements: DetailsElements): DetailsView {
  let shown: { actor: ActorRecord; version: number; ended: boolean } | undefined;
  let chart: { definition: string; width: number; view: ChartView | undefined; scrolledFor?: string } | undefined;

  const renderChart = (actor: ActorRecord) => {
    const width = Math.max(480, elements.chart.clientWidth - 24);
    const definition = actor.definition ?? '';
    if (chart?.definition !== definition || Math.abs(chart.width - width) > 80) {
      const parsed = parseStatechart(actor.definition);
      const view = parsed === undefined ? undefined : drawChart(parsed, width);
      if (view === undefined) {
        const empty = document.createElement('p');
        empty.className = 'empty';
        empty.textContent = 'This actor sent no machine definition.';
        elements.chart.replaceChildren(empty);
      } else {
        elements.chart.replaceChildren(view.element);
      }
      chart = { definition, width, view };
    }
    const view = chart.view;
    if (view === undefined) return;
    const active = activeStateIds(actor.snapshot.value);
    if (chart.scrolledFor !== actor.id) {
      // A newly shown chart opens on where the actor is: the innermost state holding every active leaf.
      chart.scrolledFor = actor.id;
      const box = view.layout.boxes.get(commonAncestor([...active].filter((id) => !hasActiveChild(id, active))));
      if (box !== undefined) {
        elements.chart.scrollTop = Math.max(0, box.y - 8);
        elements.chart.scrollLeft = Math.max(0, box.x - 8);
      }
    }
    const taken =
      actor.lastEvent === undefined
        ? []
        : takenTransitions(view.layout.chart, actor.lastEvent.type, activeStateIds(actor.previousValue), active);
    view.show(active, taken);
    elements.chart.dataset['actorId'] = actor.id;
    elements.chart.dataset['active'] = [...active].filter((id) => !hasActiveChild(id, active)).join(' ');
    elements.chart.dataset['taken'] = taken.map((transition) => transition.eventType || 'always').join(' ');
  };

  return {
    render(actor) {
      if (actor === undefined) {
        if (shown === undefined && elements.panel.dataset['empty'] === 'true') return;
        shown = undefined;
        chart = undefined;
        elements.panel.dataset['empty'] = 'true';
        elements.title.textContent = 'Select an actor';
        elements.meta.textContent = 'Rooms, engine sessions and peers appear on the left as they come and go.';
        elements.chart.replaceChildren();
        delete elements.chart.dataset['actorId'];
        elements.context.textContent = '';
        elements.log.replaceChildren();
        return;
      }
      if (shown?.actor === actor && shown.version === actor.version && shown.ended === actor.ended) return;
      shown = { actor, version: actor.version, ended: actor.ended };
      elements.panel.dataset['empty'] = 'false';
      elements.panel.dataset['ended'] = String(actor.ended);
      elements.title.textContent = `${actor.name} · ${actor.stateText || '(no state)'}`;
      elements.title.dataset['state'] = actor.stateText;
      elements.meta.textContent = [
        actor.kind === 'other' ? 'actor' : actor.kind,
        actor.id,
        actor.room === undefined ? undefined : `room ${actor.room}`,
        actor.ended ? 'ended' : actor.snapshot.status,
      ]
        .filter((part) => part !== undefined)
        .join(' · ');
      renderChart(actor);
      elements.context.textContent =
        actor.snapshot.context === undefined ? '(no context)' : JSON.stringify(actor.snapshot.context, null, 2);
      elements.log.replaceChildren(...actor.log.slice(-MAX_LOG_ROWS).reverse().map(logRow));
    },
  };
}

/** The longest dotted prefix the ids share (`''`, the root, if none). */
function commonAncestor(ids: readonly string[]): string {
  const [first, ...rest] = ids.map((id) => id.split('.'));
  if (first === undefined) return '';
  let length = first.length;
  for (const parts of rest) {
    let same = 0;
    while (same < Math.min(length, parts.length) && parts[same] === first[same]) same++;
    length = same;
  }
  // A single leaf: show its parent, so the way into it is in view too.
  if (rest.length === 0) length -= 1;
  return first.slice(0, Math.max(0, length)).join('.');
}

function hasActiveChild(id: string, active: ReadonlySet<string>): boolean {
  for (const other of active) if (other.startsWith(`${id}.`)) return true;
  return false;
}

function cell(text: string, className: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.className = className;
  td.textContent = text;
  if (title !== undefined) td.title = title;
  return td;
}

function logRow(entry: EventLogEntry): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset['event'] = entry.type;
  const payload = Object.keys(entry.payload).length === 0 ? '' : JSON.stringify(entry.payload);
  row.append(
    cell(formatTime(entry.time), 'time', new Date(entry.time).toISOString()),
    cell(entry.type, 'event', entry.sourceId === undefined ? undefined : `from ${entry.sourceId}`),
    cell(payload.length > 160 ? `${payload.slice(0, 159)}…` : payload, 'payload', payload),
    cell(entry.state ?? '…', 'result'),
  );
  return row;
}

function formatTime(time: number): string {
  const date = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
