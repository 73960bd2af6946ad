/**
 * Turns XState's inspection events (`createActor(machine, { inspect })`) into the live
 * inspector's wire format (src/protocol/inspection-events.ts), the way @statelyai/inspect's
 * `convertXStateEvent` does, with every payload passed through `redactForInspection` first.
 */
import type { AnyActorRef, AnyEventObject, InspectionEvent as XStateInspectionEvent, Snapshot } from 'xstate';
import {
  INSPECTION_FORMAT_VERSION,
  type InspectedEvent,
  type InspectedSnapshot,
  type InspectionActorEvent,
  type InspectionEvent,
  type ParleyTag,
} from '../protocol/inspection-events.js';
import { redactForInspection } from './inspection-redaction.js';

/** How one root actor appears in the stream. */
export interface PublishedActor {
  /** Its id in the stream (`sessionId`), e.g. `peer`; the server prefixes it with the socket's id. */
  readonly id: string;
  /** Browsers set `kind` only; the server adds the room. */
  readonly tag: ParleyTag;
}

/** A function in a config by name; XState's `and([...])`, `or` and `not` with their guards. */
function functionName(fn: { name?: string; guards?: unknown }): string {
  const name = fn.name || 'anonymous';
  if (!Array.isArray(fn.guards)) return name;
  const parts = (fn.guards as unknown[]).map((guard) =>
    typeof guard === 'string'
      ? guard
      : typeof guard === 'function'
        ? functionName(guard as { name?: string; guards?: unknown })
        : typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string'
          ? (guard as { type: string }).type
          : '?',
  );
  return `${name}(${parts.join(', ')})`;
}

/**
 * A machine's config as JSON, as @statelyai/inspect sends it: functions (inline guards, action
 * parameters, inputs) become `{ "type": name }`, combined guards `{ "type": "and(a, b)" }`.
 */
export function serializeDefinition(config: unknown): string {
  return JSON.stringify(config, (_key, value: unknown) =>
    typeof value === 'function' ? { type: functionName(value) } : value,
  );
}

/** The part of a snapshot the stream carries: status, value and context, redacted. */
export function inspectedSnapshot(snapshot: Snapshot<unknown> | undefined): InspectedSnapshot {
  if (snapshot === undefined) return { status: 'active' };
  const { status, value, context } = snapshot as Snapshot<unknown> & { value?: unknown; context?: unknown };
  return {
    status,
    ...(value === undefined ? {} : { value: redactForInspection(value) }),
    ...(context === undefined ? {} : { context: redactForInspection(context) }),
  };
}

function inspectedEvent(event: AnyEventObject): InspectedEvent {
  return redactForInspection(event) as InspectedEvent;
}

/** The `@xstate.actor` event announcing `actorRef` with its current snapshot. */
export function actorAnnouncement(
  actorRef: AnyActorRef,
  actor: PublishedActor,
  now = Date.now(),
): InspectionActorEvent {
  const config = (actorRef as { logic?: { config?: { id?: string } } }).logic?.config;
  return {
    type: '@xstate.actor',
    name: config?.id ?? actor.id,
    sessionId: actor.id,
    parentId: undefined,
    rootId: actor.id,
    definition: config === undefined ? undefined : serializeDefinition(config),
    snapshot: inspectedSnapshot(actorRef.getSnapshot() as Snapshot<unknown> | undefined),
    createdAt: String(now),
    id: null,
    _version: INSPECTION_FORMAT_VERSION,
    parley: actor.tag,
  };
}

/**
 * The stream event for an XState inspection event about the root actor `actor`, or undefined
 * for events the stream does not carry (child actors, microsteps, actions).
 */
export function convertInspectionEvent(
  event: XStateInspectionEvent,
  actor: PublishedActor,
  now = Date.now(),
): InspectionEvent | undefined {
  // Only the root actor itself: its invoked promises show through their done and error events.
  if (event.actorRef.sessionId !== event.rootId) return undefined;
  const base = {
    sessionId: actor.id,
    rootId: actor.id,
    createdAt: String(now),
    id: null,
    _version: INSPECTION_FORMAT_VERSION,
    parley: actor.tag,
  };
  switch (event.type) {
    case '@xstate.actor':
      return actorAnnouncement(event.actorRef as AnyActorRef, actor, now);
    case '@xstate.event':
      return {
        ...base,
        type: '@xstate.event',
        event: inspectedEvent(event.event),
        sourceId: event.sourceRef?.sessionId === event.rootId ? actor.id : undefined,
      };
    case '@xstate.snapshot':
      return {
        ...base,
        type: '@xstate.snapshot',
        event: inspectedEvent(event.event),
        snapshot: inspectedSnapshot(event.snapshot),
      };
    default:
      return undefined;
  }
}
