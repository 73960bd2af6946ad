/**
 * The live state inspector's events, in the format of Stately's inspector
 * ([@statelyai/inspect](https://github.com/statelyai/inspect) 0.7, `StatelyInspectionEvent`), plus
 * a `parley` field that says what an actor is. The server writes them to its viewers (the
 * WebSocket at `/inspector/events`); browsers send their own peer machine's events to the server
 * in `inspect` batches. Shared by the server, the browser adapter and the tests;
 * docs/protocol.md ("Live inspection") is the prose version.
 */
import { SignalingError } from './signaling-error.js';

/** What a snapshot looks like on the wire (`InspectedSnapshot` in @statelyai/inspect). */
export interface InspectedSnapshot {
  readonly status?: 'active' | 'done' | 'error' | 'stopped';
  readonly value?: unknown;
  readonly context?: unknown;
  readonly output?: unknown;
}

/** An event sent to an actor: `{ type, ...fields }`. */
export interface InspectedEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Which part of Parley an actor belongs to: a server room, an Engine.IO session, a browser's
 * peer machine or signaling client; `inspector` marks the inspector's own notices (dropped
 * events). `room` is the room's public display name.
 */
export interface ParleyTag {
  readonly kind: ParleyActorKind;
  readonly room?: string;
}

/** See {@link ParleyTag}. */
export type ParleyActorKind = 'room' | 'session' | 'peer' | 'signaling' | 'inspector';

/** Fields every inspection event has. */
interface InspectionEventBase {
  readonly sessionId: string;
  readonly rootId: string | undefined;
  /** `Date.now()` as a string. */
  readonly createdAt: string;
  readonly id: string | null;
  readonly _version: string;
  /** Set by the server on everything it writes; browsers may set `kind` only. */
  readonly parley?: ParleyTag;
}

/** An actor came to life (or, for a late viewer, is alive): its chart and current snapshot. */
export interface InspectionActorEvent extends InspectionEventBase {
  readonly type: '@xstate.actor';
  readonly name: string;
  /** The machine's config as JSON, so a viewer can draw the chart. */
  readonly definition: string | undefined;
  readonly parentId: string | undefined;
  readonly snapshot: InspectedSnapshot;
}

/** An event was sent to an actor. */
export interface InspectionEventEvent extends InspectionEventBase {
  readonly type: '@xstate.event';
  readonly event: InspectedEvent;
  readonly sourceId: string | undefined;
}

/** An actor's snapshot after an event. A status other than `active` means the actor ended. */
export interface InspectionSnapshotEvent extends InspectionEventBase {
  readonly type: '@xstate.snapshot';
  readonly event: InspectedEvent;
  readonly snapshot: InspectedSnapshot;
}

/** One inspection event (Stately's `StatelyInspectionEvent`, with Parley's tag). */
export type InspectionEvent = InspectionActorEvent | InspectionEventEvent | InspectionSnapshotEvent;

/** The payload of the server's `inspector` event: someone is watching, publish. */
export interface InspectorPayload {
  readonly enabled: true;
}

/** Limits on what one browser may publish (`inspect` batches). */
export const INSPECT_LIMITS = {
  /** Characters of a batch as JSON. */
  maxBatchChars: 65_536,
  /** Events in one batch. */
  maxBatchEvents: 100,
  /** Batches per second per socket, sustained, and at once. */
  batchesPerSecond: 20,
  batchBurst: 40,
  /** Characters of an actor id. */
  maxIdChars: 128,
} as const;

/** The `@statelyai/inspect` version whose format the server writes. */
export const INSPECTION_FORMAT_VERSION = '0.7.2';

const EVENT_TYPES: ReadonlySet<string> = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

/**
 * Checks an `inspect` batch's shape (not its size: the caller measured that on the wire) and
 * returns its events; throws `bad-payload` saying what is wrong. Fields are only checked, not
 * cleaned: the server rewrites and redacts each event before it goes anywhere.
 */
export function parseInspectBatch(value: unknown): readonly InspectionEvent[] {
  if (!Array.isArray(value)) throw SignalingError.badPayload('inspect', 'expected an array of inspection events');
  if (value.length > INSPECT_LIMITS.maxBatchEvents) {
    throw SignalingError.badPayload(
      'inspect',
      `${value.length} events in one batch, at most ${INSPECT_LIMITS.maxBatchEvents} are allowed`,
    );
  }
  value.forEach((event: unknown, index) => {
    const problem = shapeProblem(event);
    if (problem !== undefined) throw SignalingError.badPayload('inspect', `event ${index}: ${problem}`);
  });
  return value as InspectionEvent[];
}

function shapeProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'expected an object';
  if (typeof value['type'] !== 'string' || !EVENT_TYPES.has(value['type'])) {
    return '"type" must be "@xstate.actor", "@xstate.event" or "@xstate.snapshot"';
  }
  for (const field of ['sessionId', 'parentId', 'rootId', 'sourceId'] as const) {
    const id = value[field];
    const optional = field !== 'sessionId';
    if (optional && (id === undefined || id === null)) continue;
    if (typeof id !== 'string' || id.length === 0 || id.length > INSPECT_LIMITS.maxIdChars) {
      return `"${field}" must be a string of 1 to ${INSPECT_LIMITS.maxIdChars} characters`;
    }
  }
  switch (value['type']) {
    case '@xstate.actor':
      if (!isRecord(value['snapshot'])) return '"snapshot" must be an object';
      if (value['definition'] !== undefined && value['definition'] !== null && typeof value['definition'] !== 'string')
        return '"definition" must be a string';
      return undefined;
    case '@xstate.snapshot':
      if (!isRecord(value['snapshot'])) return '"snapshot" must be an object';
      return eventProblem(value['event']);
    default:
      return eventProblem(value['event']);
  }
}

function eventProblem(event: unknown): string | undefined {
  return isRecord(event) && typeof event['type'] === 'string'
    ? undefined
    : '"event" must be an object with a string "type"';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
