/**
 * The viewer's picture of the server: every live actor from the inspection stream, its latest
 * snapshot and a bounded log of its events, grouped by room for the list. No DOM, so it is
 * tested in Node; the page renders from it at its own pace.
 */
import type {
  InspectedEvent,
  InspectedSnapshot,
  InspectionEvent,
  ParleyActorKind,
} from '../../protocol/inspection-events.js';
import { shortStateText, stateText } from './state-value.js';

/** What the list knows an actor as: Parley's kinds, or `other` for actors of other publishers. */
export type ActorKind = Exclude<ParleyActorKind, 'inspector'> | 'other';

/** One line of an actor's event log. */
export interface EventLogEntry {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly type: string;
  /** The event without its `type`. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly sourceId: string | undefined;
  /** The state after the event, as text, once its snapshot arrived. */
  state: string | undefined;
}

/** One actor as the viewer knows it. */
export interface ActorRecord {
  readonly id: string;
  name: string;
  kind: ActorKind;
  room: string | undefined;
  definition: string | undefined;
  snapshot: InspectedSnapshot;
  /** Active leaves as dotted paths, space-separated (`data-state`). */
  stateText: string;
  /** The same, short, for the list. */
  shortState: string;
  /** The state value before the latest snapshot, and the event that led to it. */
  previousValue: unknown;
  lastEvent: InspectedEvent | undefined;
  /** Newest last, at most `maxLog` entries. */
  readonly log: EventLogEntry[];
  /** Ended actors are dropped from the store; a page holding one can tell. */
  ended: boolean;
  /** Bumped on every change. */
  version: number;
}

/** A group of the list: a room, the sessions not known to be in one, or other actors. */
export interface ActorGroup {
  /** `room:<name>`, `sessions` or `other`. */
  readonly key: string;
  readonly label: string;
  /** The room's name, for room groups. */
  readonly room: string | undefined;
  readonly actors: readonly ActorRecord[];
}

const KIND_ORDER: Record<ActorRecord['kind'], number> = { room: 0, peer: 1, signaling: 1, session: 2, other: 3 };
const KINDS: ReadonlySet<string> = new Set<ActorKind>(['room', 'session', 'peer', 'signaling']);

function roomOf(id: string, kind: ActorRecord['kind'], room: string | undefined): string | undefined {
  if (room !== undefined) return room;
  return kind === 'room' && id.startsWith('room:') ? id.slice('room:'.length) : undefined;
}

function kindOf(id: string, tagged: string | undefined): ActorKind {
  if (tagged !== undefined && KINDS.has(tagged)) return tagged as ActorKind;
  if (id.startsWith('room:')) return 'room';
  if (id.startsWith('session:')) return 'session';
  if (id.startsWith('peer:')) return 'peer';
  return 'other';
}

function groupKey(actor: ActorRecord): string {
  if (actor.room !== undefined) return `room:${actor.room}`;
  return actor.kind === 'session' ? 'sessions' : 'other';
}

/** The live actors of one stream. */
export class ActorStore {
  private readonly actors = new Map<string, ActorRecord>();
  /** Bumped when actors come, go or move between groups: the list must be rebuilt. */
  structureVersion = 0;
  /** Bumped on every change. */
  version = 0;
  private grouped: { version: number; filter: string; groups: ActorGroup[] } | undefined;
  /** The actors before the last reset, by id. */
  private retired = new Map<string, ActorRecord>();

  constructor(private readonly maxLog = 100) {}

  /** How many actors are live. */
  get size(): number {
    return this.actors.size;
  }

  get(id: string): ActorRecord | undefined {
    return this.actors.get(id);
  }

  /**
   * Forgets every actor: the server is about to announce each live one again (a new connection,
   * or frames dropped). An actor announced again under the same id (a room, after a restart)
   * comes back with its log; the others stay ended.
   */
  reset(): void {
    for (const actor of this.actors.values()) actor.ended = true;
    this.retired = new Map(this.actors);
    this.actors.clear();
    this.structureVersion++;
    this.version++;
  }

  /** Applies one stream event. */
  apply(event: InspectionEvent): void {
    this.version++;
    const time = Number(event.createdAt) || Date.now();
    let actor = this.actors.get(event.sessionId);
    if (actor === undefined) {
      // The end of an actor we never saw.
      if (event.type === '@xstate.snapshot' && ended(event.snapshot)) return;
      actor = this.create(event);
    }
    if (event.parley !== undefined) {
      const kind = kindOf(event.sessionId, event.parley.kind);
      const room = roomOf(event.sessionId, kind, event.parley.room ?? actor.room);
      if (kind !== actor.kind || room !== actor.room) {
        actor.kind = kind;
        actor.room = room;
        this.structureVersion++;
      }
    }
    switch (event.type) {
      case '@xstate.actor':
        actor.name = event.name;
        actor.definition = event.definition ?? actor.definition;
        this.setSnapshot(actor, event.snapshot, undefined);
        break;
      case '@xstate.event':
        this.appendLog(actor, {
          time,
          type: event.event.type,
          payload: withoutType(event.event),
          sourceId: event.sourceId,
          state: undefined,
        });
        break;
      case '@xstate.snapshot': {
        this.setSnapshot(actor, event.snapshot, event.event);
        // The state the event led to goes on its log line, or on a new one if none is waiting.
        const pending = findLast(actor.log, (entry) => entry.state === undefined && entry.type === event.event.type);
        if (pending !== undefined) pending.state = actor.stateText;
        else
          this.appendLog(actor, {
            time,
            type: event.event.type,
            payload: withoutType(event.event),
            sourceId: undefined,
            state: actor.stateText,
          });
        break;
      }
    }
    actor.version++;
    if (ended(actor.snapshot)) {
      actor.ended = true;
      this.actors.delete(actor.id);
      this.structureVersion++;
    }
  }

  /**
   * The actors grouped for the list, filtered by `filter` (case-insensitive, on room, id, name and
   * state; a matching room shows all its actors). Rooms by name, then `sessions`, then `other`.
   */
  groups(filter = ''): ActorGroup[] {
    const needle = filter.trim().toLowerCase();
    if (this.grouped?.version === this.structureVersion && this.grouped.filter === needle && needle === '')
      return this.grouped.groups;
    const byKey = new Map<string, ActorRecord[]>();
    for (const actor of this.actors.values()) {
      const key = groupKey(actor);
      let members = byKey.get(key);
      if (members === undefined) byKey.set(key, (members = []));
      members.push(actor);
    }
    const groups: ActorGroup[] = [];
    for (const [key, members] of byKey) {
      const room = key.startsWith('room:') ? key.slice('room:'.length) : undefined;
      const roomMatches = needle !== '' && room !== undefined && room.toLowerCase().includes(needle);
      const shown =
        needle === '' || roomMatches
          ? members
          : members.filter((actor) =>
              [actor.id, actor.name, actor.stateText].some((text) => text.toLowerCase().includes(needle)),
            );
      if (shown.length === 0) continue;
      shown.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      groups.push({ key, room, label: room === undefined ? key : room, actors: shown });
    }
    const rank = (group: ActorGroup) => (group.room !== undefined ? 0 : group.key === 'sessions' ? 1 : 2);
    groups.sort((a, b) => rank(a) - rank(b) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    if (needle === '') this.grouped = { version: this.structureVersion, filter: needle, groups };
    return groups;
  }

  private create(event: InspectionEvent): ActorRecord {
    const retired = this.retired.get(event.sessionId);
    if (retired !== undefined) {
      this.retired.delete(event.sessionId);
      retired.ended = false;
      this.actors.set(retired.id, retired);
      this.structureVersion++;
      return retired;
    }
    const kind = kindOf(event.sessionId, event.parley?.kind);
    const actor: ActorRecord = {
      id: event.sessionId,
      name: event.sessionId,
      kind,
      room: roomOf(event.sessionId, kind, event.parley?.room),
      definition: undefined,
      snapshot: { status: 'active' },
      stateText: '',
      shortState: '',
      previousValue: undefined,
      lastEvent: undefined,
      log: [],
      ended: false,
      version: 0,
    };
    this.actors.set(actor.id, actor);
    this.structureVersion++;
    return actor;
  }

  private setSnapshot(actor: ActorRecord, snapshot: InspectedSnapshot, event: InspectedEvent | undefined): void {
    actor.previousValue = event === undefined ? snapshot.value : actor.snapshot.value;
    actor.lastEvent = event;
    // A snapshot without a value (some actors' final one) keeps the last known state.
    actor.snapshot = snapshot.value === undefined ? { ...snapshot, value: actor.snapshot.value } : snapshot;
    actor.stateText = stateText(actor.snapshot.value);
    actor.shortState = shortStateText(actor.snapshot.value);
  }

  private appendLog(actor: ActorRecord, entry: EventLogEntry): void {
    actor.log.push(entry);
    if (actor.log.length > this.maxLog) actor.log.splice(0, actor.log.length - this.maxLog);
  }
}

function ended(snapshot: InspectedSnapshot): boolean {
  return snapshot.status !== undefined && snapshot.status !== 'active';
}

function withoutType(event: InspectedEvent): Record<string, unknown> {
  const { type: _type, ...payload } = event;
  return payload;
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (predicate(item)) return item;
  }
  return undefined;
}
