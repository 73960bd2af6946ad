/**
 * The server's own actors as the inspection stream shows them: a room (`room:<display name>`)
 * and an Engine.IO session (`session:<sid>`), each its machine's snapshot by reference, and the
 * Stately inspection events that announce them and their changes. Pure builders: the hub
 * stamps each event with its id and time.
 */
import type { SnapshotFrom } from 'xstate';
import { engineSessionMachine } from '../../machines/engine-session-machine.js';
import { roomMachine } from '../../machines/room-machine.js';
import {
  INSPECTION_FORMAT_VERSION,
  type InspectedEvent,
  type InspectedSnapshot,
  type InspectionEvent,
  type ParleyTag,
} from '../../protocol/inspection-events.js';
import type { RoomSnapshot } from '../room-registry.js';

/** An Engine.IO session's snapshot of the session machine. */
export type SessionSnapshot = SnapshotFrom<typeof engineSessionMachine>;

/** A room or a session, as the hub keeps it while it lives. */
export interface ServerActor<TSnapshot> {
  readonly sessionId: string;
  readonly createdAt: string;
  readonly parley: ParleyTag;
  snapshot: TSnapshot;
}

/** What the hub gives every event it makes: a unique id and the time. */
export interface EventStamp {
  readonly id: string;
  readonly createdAt: string;
}

/** The actor id of the inspector's own notices. */
export const INSPECTOR_ACTOR = 'parley:inspector';

/** The machines' definitions as JSON, the way @statelyai/inspect writes them (functions as `{ type: name }`). */
export function machineDefinitions(): { readonly room: string; readonly session: string } {
  return { room: definitionOf(roomMachine.config), session: definitionOf(engineSessionMachine.config) };
}

/** A room's snapshot on the wire: its display name in place of its key (which holds the secret's hash). */
export function roomSnapshotOf(actor: ServerActor<RoomSnapshot>, snapshot: RoomSnapshot): InspectedSnapshot {
  return {
    status: snapshot.status,
    value: snapshot.value,
    context: { room: actor.parley.room, peers: snapshot.context.peers },
  };
}

/** A session's snapshot on the wire (the machine keeps no context). */
export function sessionSnapshotOf(snapshot: SessionSnapshot): InspectedSnapshot {
  return { status: snapshot.status, value: snapshot.value, context: snapshot.context ?? {} };
}

/** `@xstate.actor`: the actor, its chart and its current snapshot. */
export function actorEvent(
  actor: ServerActor<unknown>,
  name: string,
  definition: string,
  snapshot: InspectedSnapshot,
  id: string,
): InspectionEvent {
  return {
    type: '@xstate.actor',
    name,
    sessionId: actor.sessionId,
    parentId: undefined,
    rootId: actor.sessionId,
    definition,
    snapshot,
    _version: INSPECTION_FORMAT_VERSION,
    createdAt: actor.createdAt,
    id,
    parley: actor.parley,
  };
}

/** `@xstate.event`: the actor took `event`. */
export function eventEvent(actor: ServerActor<unknown>, event: InspectedEvent, stamp: EventStamp): InspectionEvent {
  return {
    type: '@xstate.event',
    event,
    sourceId: undefined,
    sessionId: actor.sessionId,
    rootId: actor.sessionId,
    _version: INSPECTION_FORMAT_VERSION,
    ...stamp,
    parley: actor.parley,
  };
}

/** `@xstate.snapshot`: the actor's snapshot after `event`. */
export function snapshotEvent(
  actor: ServerActor<unknown>,
  event: InspectedEvent,
  snapshot: InspectedSnapshot,
  stamp: EventStamp,
): InspectionEvent {
  return {
    type: '@xstate.snapshot',
    event,
    snapshot,
    sessionId: actor.sessionId,
    rootId: actor.sessionId,
    _version: INSPECTION_FORMAT_VERSION,
    ...stamp,
    parley: actor.parley,
  };
}

/** The notice a slow viewer gets after catching up: `count` frames were not sent to it. */
export function dropMarker(count: number, stamp: EventStamp): InspectionEvent {
  return {
    type: '@xstate.event',
    event: { type: 'parley.framesDropped', count },
    sourceId: undefined,
    sessionId: INSPECTOR_ACTOR,
    rootId: INSPECTOR_ACTOR,
    _version: INSPECTION_FORMAT_VERSION,
    ...stamp,
    parley: { kind: 'inspector' },
  };
}

function definitionOf(config: unknown): string {
  return JSON.stringify(config, (_key, value: unknown) =>
    typeof value === 'function' ? { type: (value as { name: string }).name } : value,
  );
}
