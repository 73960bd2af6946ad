/**
 * The actors one browser publishes (its peer machine, its signaling client, the promise actors
 * they invoke), as the inspector keeps them: each inbound event is rewritten into the server's
 * id space (`peer:<socket id>:<the browser's id>`), tagged with its room, redacted, and the live
 * actors' registration and last snapshot are kept, so that a viewer connecting later sees them,
 * and so that they can be ended ('stopped') when the socket leaves. What is kept is bounded per
 * browser and server-wide.
 */
import {
  INSPECTION_FORMAT_VERSION,
  INSPECT_LIMITS,
  type InspectedSnapshot,
  type InspectionActorEvent,
  type InspectionEvent,
  type ParleyTag,
} from '../../protocol/inspection-events.js';
import { TokenBucket } from '../engine/token-bucket.js';
import { redactInspectionEvent } from './redact.js';

/** Who publishes: an admitted peer, its room's display name, and the secrets it may leak. */
export interface InspectingPeer {
  readonly socketId: string;
  /** The room's display name (see roomDisplayName). */
  readonly room: string;
  /** Strings this peer knows that must never be shown (its room secret, its TURN credentials). */
  readonly secrets: readonly string[];
}

/** Live actors one browser may have at once; registrations beyond are forwarded, not kept. */
export const MAX_PEER_ACTORS = 32;

/** Characters of kept events one browser may hold. */
export const MAX_PEER_KEPT_CHARS = 256 * 1024;

/** Characters all browsers' kept events may hold together; shared by one hub's peers. */
export interface KeptBudget {
  used: number;
  readonly max: number;
}

/** One live actor: its registration and its latest snapshot. */
interface KeptActor {
  actor: InspectionActorEvent;
  snapshot: InspectedSnapshot;
  /** Characters of the registration and of the latest snapshot event, as sent. */
  readonly actorChars: number;
  snapshotChars: number;
}

/** The ended states: after one of these the actor is gone. */
const ENDED: ReadonlySet<unknown> = new Set(['done', 'error', 'stopped']);

/** One browser's published actors. */
export class PeerActors {
  /** `inspect` batches this socket may send (see INSPECT_LIMITS). */
  readonly batches: TokenBucket;
  readonly #actors = new Map<string, KeptActor>();
  #keptChars = 0;

  constructor(
    readonly peer: InspectingPeer,
    private readonly budget: KeptBudget,
    now: number,
    private readonly secrets: readonly string[],
  ) {
    this.batches = new TokenBucket(INSPECT_LIMITS.batchesPerSecond, INSPECT_LIMITS.batchBurst, now);
  }

  /** Actors alive now. */
  get size(): number {
    return this.#actors.size;
  }

  /**
   * The server's version of a browser's event: ids prefixed, Parley's tag set, fields the format
   * does not have dropped, secrets and long strings redacted.
   */
  rewrite(event: InspectionEvent, id: string, now: number): InspectionEvent {
    const base = {
      sessionId: this.#idOf(event.sessionId),
      rootId: optionalId(event.rootId, (raw) => this.#idOf(raw)),
      createdAt: isTimestamp(event.createdAt) ? event.createdAt : String(now),
      id,
      _version: INSPECTION_FORMAT_VERSION,
      parley: this.#tagOf(event),
    };
    let rewritten: InspectionEvent;
    switch (event.type) {
      case '@xstate.actor':
        rewritten = {
          type: event.type,
          ...base,
          name: typeof event.name === 'string' ? event.name : event.sessionId,
          definition: typeof event.definition === 'string' ? event.definition : undefined,
          parentId: optionalId(event.parentId, (raw) => this.#idOf(raw)),
          snapshot: event.snapshot,
        };
        break;
      case '@xstate.event':
        rewritten = {
          type: event.type,
          ...base,
          event: event.event,
          sourceId: optionalId(event.sourceId, (raw) => this.#idOf(raw)),
        };
        break;
      case '@xstate.snapshot':
        rewritten = { type: event.type, ...base, event: event.event, snapshot: event.snapshot };
        break;
    }
    return redactInspectionEvent(rewritten, this.secrets);
  }

  /** Keeps what a late viewer needs of a rewritten event that went out as `chars` characters. */
  keep(event: InspectionEvent, chars: number): void {
    if (event.type === '@xstate.actor') {
      this.#forget(event.sessionId);
      if (ENDED.has(event.snapshot.status)) return;
      if (this.#actors.size >= MAX_PEER_ACTORS || !this.#fits(chars)) return;
      const actor = { ...event, snapshot: {} };
      this.#actors.set(event.sessionId, { actor, snapshot: event.snapshot, actorChars: chars, snapshotChars: 0 });
      this.#charge(chars);
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    const kept = this.#actors.get(event.sessionId);
    if (kept === undefined) return;
    if (ENDED.has(event.snapshot.status)) {
      this.#forget(event.sessionId);
      return;
    }
    // Over the bounds the older snapshot stays: a late viewer then sees a stale one, never a lie about size.
    if (!this.#fits(chars - kept.snapshotChars)) return;
    this.#charge(chars - kept.snapshotChars);
    kept.snapshot = event.snapshot;
    kept.snapshotChars = chars;
  }

  /** Every live actor's registration with its latest snapshot, oldest first. */
  *picture(): Generator<InspectionActorEvent> {
    for (const { actor, snapshot } of this.#actors.values()) yield { ...actor, snapshot };
  }

  /**
   * Ends every live actor (the socket left): a final 'stopped' snapshot for each, newest first
   * (children before their parents), and forgets them.
   */
  stopAll(id: () => string, now: number): InspectionEvent[] {
    const stopped = [...this.#actors.values()].reverse().map(({ actor, snapshot }): InspectionEvent => ({
      type: '@xstate.snapshot',
      sessionId: actor.sessionId,
      rootId: actor.rootId,
      createdAt: String(now),
      id: id(),
      _version: INSPECTION_FORMAT_VERSION,
      parley: actor.parley,
      event: { type: 'xstate.stop' },
      snapshot: { status: 'stopped', value: snapshot.value, context: snapshot.context },
    }));
    for (const sessionId of [...this.#actors.keys()]) this.#forget(sessionId);
    return stopped;
  }

  #idOf(raw: string): string {
    return `peer:${this.peer.socketId}:${raw}`;
  }

  #tagOf(event: InspectionEvent): ParleyTag {
    const kind = event.parley?.kind;
    return { kind: kind === 'signaling' ? 'signaling' : 'peer', room: this.peer.room };
  }

  #fits(chars: number): boolean {
    return this.#keptChars + chars <= MAX_PEER_KEPT_CHARS && this.budget.used + chars <= this.budget.max;
  }

  #charge(chars: number): void {
    this.#keptChars += chars;
    this.budget.used += chars;
  }

  #forget(sessionId: string): void {
    const kept = this.#actors.get(sessionId);
    if (kept === undefined) return;
    this.#actors.delete(sessionId);
    this.#charge(-(kept.actorChars + kept.snapshotChars));
  }
}

function optionalId(raw: unknown, rewrite: (raw: string) => string): string | undefined {
  return typeof raw === 'string' ? rewrite(raw) : undefined;
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,16}$/.test(value);
}
