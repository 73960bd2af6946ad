/**
 * Parley's live state inspector (`/inspector`): every room, Engine.IO session and inspected peer
 * machine of the server, as it runs, from the `/inspector/events` stream. Nothing is loaded from
 * another host. docs/inspector.md describes it.
 */
import { createActorListView, listRows, type ListRow } from './actor-list-view.js';
import { ActorStore, type ActorRecord } from './actor-store.js';
import { createDetailsView } from './actor-details-view.js';
import { connectInspectorStream, streamUrl, type StreamStatus } from './inspector-stream.js';
import { createRenderScheduler } from './render-scheduler.js';

function byTestId<T extends HTMLElement>(id: string): T {
  const element = document.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`inspector/index.html lacks data-testid="${id}"`);
  return element;
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`inspector/index.html lacks #${id}`);
  return element as T;
}

const ui = {
  connection: byTestId<HTMLElement>('inspector-connection'),
  counts: byId<HTMLElement>('counts'),
  filter: byTestId<HTMLInputElement>('inspector-filter'),
  list: byTestId<HTMLElement>('inspector-list'),
  details: byId<HTMLElement>('details'),
  title: byId<HTMLElement>('actor-title'),
  meta: byId<HTMLElement>('actor-meta'),
  chart: byTestId<HTMLElement>('inspector-chart'),
  context: byId<HTMLElement>('context'),
  log: byId<HTMLTableSectionElement>('event-log-body'),
  dropped: byTestId<HTMLElement>('inspector-dropped'),
  droppedText: byId<HTMLElement>('dropped-text'),
};

const store = new ActorStore();
let selectedId: string | undefined = new URLSearchParams(location.hash.slice(1)).get('actor') ?? undefined;
/** The selected actor's record, kept after it ended so the panel can still show it. */
let selected: ActorRecord | undefined;
let rows: ListRow[] = [];
let rowsKey = '';
let connection: { status: StreamStatus; attempt: number; retryInMs: number } = {
  status: 'connecting',
  attempt: 0,
  retryInMs: 0,
};
/** Events the server did not send us because we read too slowly, since this connection opened. */
let droppedEvents = 0;

const details = createDetailsView({
  panel: ui.details,
  title: ui.title,
  meta: ui.meta,
  chart: ui.chart,
  context: ui.context,
  log: ui.log,
});

const select = (id: string) => {
  selectedId = id;
  selected = store.get(id);
  history.replaceState(null, '', `${location.pathname}${location.search}#actor=${encodeURIComponent(id)}`);
  list.reveal(id);
  scheduler.request();
};

const list = createActorListView(ui.list, select, () => scheduler.request());

function render(): void {
  const filter = ui.filter.value;
  const key = `${store.structureVersion}\u0000${filter}\u0000${filter === '' ? '' : store.version}`;
  if (key !== rowsKey) {
    rows = listRows(store.groups(filter));
    rowsKey = key;
  }
  list.render(rows, selectedId);

  const live = selectedId === undefined ? undefined : store.get(selectedId);
  if (live !== undefined) selected = live;
  details.render(selectedId === undefined ? undefined : selected);

  const rooms = rows.filter((row) => row.kind === 'group' && row.group.room !== undefined).length;
  ui.counts.textContent = `${store.size} actors · ${rooms} rooms`;
  ui.connection.dataset['status'] = connection.status;
  ui.connection.textContent =
    connection.status === 'connected'
      ? 'Live'
      : connection.status === 'connecting'
        ? 'Connecting…'
        : `Reconnecting (attempt ${connection.attempt}, next in ${(connection.retryInMs / 1000).toFixed(1)} s)…`;
  ui.dropped.hidden = droppedEvents === 0;
  ui.dropped.dataset['count'] = String(droppedEvents);
  ui.droppedText.textContent = `The server dropped ${droppedEvents} events while this page fell behind, then sent every actor's current state again: event logs have gaps.`;
}

const scheduler = createRenderScheduler(render);

ui.filter.addEventListener('input', () => scheduler.request());
addEventListener('resize', () => scheduler.request());

connectInspectorStream(streamUrl(location), {
  onOpen: () => {
    // The server announces every live actor again: whatever ended meanwhile is gone.
    store.reset();
    droppedEvents = 0;
    scheduler.request();
  },
  onEvent: (event) => {
    if (event.parley?.kind === 'inspector') {
      // The server's own notice: it dropped frames to this slow page, and sends the whole
      // picture again next.
      if (event.type === '@xstate.event' && event.event.type === 'parley.framesDropped') {
        droppedEvents += Number(event.event['count']) || 0;
        store.reset();
      }
    } else {
      store.apply(event);
    }
    scheduler.request();
  },
  onStatus: (status, detail) => {
    connection = { status, ...detail };
    scheduler.request();
  },
});

scheduler.request();
