/**
 * The live state inspector (`parley serve --inspect`): every room machine and every Engine.IO
 * session of the server, and the machines browsers publish, as one stream of Stately inspection
 * events (src/protocol/inspection-events.ts) to the viewers connected at `/inspector/events`.
 *
 * The hub is the engine's session observer and the room registry's observer. It keeps what a
 * viewer connecting later needs (each live actor and its current snapshot: room and session
 * snapshots by reference, browsers' actors redacted and bounded) and builds frames only while
 * a viewer is connected. Everything that leaves goes through `redactInspectionEvent`. Owned by
 * one server and closed with it.
 */
import type { EngineSessionEvent, EngineTransportName } from '../../machines/engine-session-machine.js';
import type { RoomEvent } from '../../machines/room-machine.js';
import {
  INSPECT_LIMITS,
  parseInspectBatch,
  type InspectedEvent,
  type InspectedSnapshot,
  type InspectionEvent,
} from '../../protocol/inspection-events.js';
import { SignalingError } from '../../protocol/signaling-error.js';
import type { EngineSessionObserver } from '../engine/engine-options.js';
import type { EngineLog } from '../engine/engine-log.js';
import { roomDisplayName, type RoomObserver, type RoomSnapshot } from '../room-registry.js';
import { InspectionViewer, type ViewerLimits, type ViewerSocket } from './inspection-viewer.js';
import { PeerActors, type InspectingPeer, type KeptBudget } from './peer-actors.js';
import { redactInspectionEvent } from './redact.js';
import {
  actorEvent,
  dropMarker,
  eventEvent,
  machineDefinitions,
  roomSnapshotOf,
  sessionSnapshotOf,
  snapshotEvent,
  type EventStamp,
  type ServerActor,
  type SessionSnapshot,
} from './server-actors.js';

/** How to build an {@link InspectionHub}. */
export interface InspectionHubOptions {
  /** Strings that must never reach a viewer, wherever they appear (the TURN secret, tokens). */
  readonly secrets: readonly string[];
  readonly log: EngineLog;
  /** Wall-clock ms (`createdAt`, rate limits); default `Date.now`. */
  readonly now?: () => number;
  /** Per-viewer backpressure; default 1 MiB buffered, closed after 10 s of dropping. */
  readonly viewer?: Partial<ViewerLimits>;
  /** Viewers at once; default 16. */
  readonly maxViewers?: number;
  /** Characters of browsers' actors kept for late viewers, server-wide; default 32 MiB. */
  readonly maxKeptPeerChars?: number;
}

/** What the hub counts (read by tests and, later, metrics). */
export interface InspectionStats {
  /** Frames not written to a slow viewer, summed over viewers. */
  droppedFrames: number;
  /** `inspect` batches taken and refused (not a peer, too large, malformed, over the rate). */
  peerBatches: number;
  peerBatchesRefused: number;
}

/** What the signaling namespace needs of the inspector (it imports no more of it). */
export interface SignalingInspector {
  /** The room registry's observer. */
  readonly rooms: RoomObserver;
  /**
   * Takes a batch from an admitted peer: checked (rate, `chars` of JSON, shape), rewritten,
   * redacted and forwarded to viewers; or refused with the error to send back.
   */
  publishPeerBatch(peer: InspectingPeer, batch: unknown, chars: number): SignalingError | undefined;
  /** The peer's socket left: its actors end. */
  peerLeft(socketId: string): void;
}

const DEFAULT_VIEWER_LIMITS: ViewerLimits = { maxBufferedBytes: 1_048_576, maxOverflowMs: 10_000 };

/** What a Socket.IO EVENT packet adds around an `inspect` batch, and some slack for a namespace. */
const PACKET_OVERHEAD_CHARS = 32;

/** The live state inspector of one server. */
export class InspectionHub implements EngineSessionObserver, RoomObserver, SignalingInspector {
  readonly stats: InspectionStats = { droppedFrames: 0, peerBatches: 0, peerBatchesRefused: 0 };
  readonly viewerLimits: ViewerLimits;
  readonly maxViewers: number;
  readonly #secrets: readonly string[];
  readonly #log: EngineLog;
  readonly #now: () => number;
  readonly #rooms = new Map<string, ServerActor<RoomSnapshot>>();
  readonly #sessions = new Map<string, ServerActor<SessionSnapshot>>();
  readonly #peers = new Map<string, PeerActors>();
  readonly #viewers = new Set<InspectionViewer>();
  readonly #keptPeerChars: KeptBudget;
  /** The machines' definitions as JSON, made when a viewer first needs them. */
  #definitions: { readonly room: string; readonly session: string } | undefined;
  #nextId = 0;
  #failureLogged = false;

  constructor(options: InspectionHubOptions) {
    this.#secrets = options.secrets.filter((secret) => secret !== '');
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.viewerLimits = { ...DEFAULT_VIEWER_LIMITS, ...options.viewer };
    this.maxViewers = options.maxViewers ?? 16;
    this.#keptPeerChars = { used: 0, max: options.maxKeptPeerChars ?? 32 * 1024 * 1024 };
  }

  get rooms(): RoomObserver {
    return this;
  }

  /** Viewers connected now. */
  get viewerCount(): number {
    return this.#viewers.size;
  }

  // ---- Viewers ------------------------------------------------------------------------------

  /** A viewer connected: it gets the current picture, then every change. */
  addViewer(socket: ViewerSocket): InspectionViewer {
    const viewer = new InspectionViewer(
      socket,
      {
        picture: () => this.#picture(),
        dropMarker: (count) => this.#frame(dropMarker(count, this.#stamp())),
        now: this.#now,
      },
      this.viewerLimits,
    );
    this.#viewers.add(viewer);
    viewer.start();
    return viewer;
  }

  /** The viewer's socket closed. */
  removeViewer(viewer: InspectionViewer): void {
    viewer.closed();
    if (this.#viewers.delete(viewer)) this.stats.droppedFrames += viewer.droppedTotal;
  }

  /** Closes every viewer (1001, going away); the hub keeps nothing after. */
  close(): void {
    for (const viewer of [...this.#viewers]) {
      viewer.end(1001, 'server closing');
      this.removeViewer(viewer);
    }
    this.#rooms.clear();
    this.#sessions.clear();
    this.#peers.clear();
    this.#keptPeerChars.used = 0;
  }

  // ---- Sessions (EngineSessionObserver) -----------------------------------------------------

  sessionOpened(
    sessionId: string,
    snapshot: SessionSnapshot,
    _info: { readonly transport: EngineTransportName },
  ): void {
    const actor: ServerActor<SessionSnapshot> = {
      sessionId: `session:${sessionId}`,
      createdAt: String(this.#now()),
      parley: { kind: 'session' },
      snapshot,
    };
    this.#sessions.set(sessionId, actor);
    if (this.#viewers.size > 0) this.#broadcast(this.#sessionActorEvent(actor));
  }

  sessionEvent(sessionId: string, event: EngineSessionEvent, snapshot: SessionSnapshot): void {
    const actor = this.#sessions.get(sessionId);
    if (actor === undefined) return;
    actor.snapshot = snapshot;
    if (snapshot.status !== 'active') this.#sessions.delete(sessionId);
    if (this.#viewers.size > 0) this.#broadcastChange(actor, event, sessionSnapshotOf(snapshot));
  }

  // ---- Rooms (RoomObserver) -----------------------------------------------------------------

  roomOpened(key: string, snapshot: RoomSnapshot): void {
    const room = roomDisplayName(key);
    const actor: ServerActor<RoomSnapshot> = {
      sessionId: `room:${room}`,
      createdAt: String(this.#now()),
      parley: { kind: 'room', room },
      snapshot,
    };
    this.#rooms.set(key, actor);
    if (this.#viewers.size > 0) this.#broadcast(this.#roomActorEvent(actor));
  }

  /** Also takes the cluster's own events (see cluster-room-view.ts), hence any inspected event. */
  roomChanged(key: string, event: RoomEvent | InspectedEvent, snapshot: RoomSnapshot): void {
    const actor = this.#rooms.get(key);
    if (actor === undefined) return;
    actor.snapshot = snapshot;
    if (this.#viewers.size > 0) this.#broadcastChange(actor, event, roomSnapshotOf(actor, snapshot));
  }

  roomDisposed(key: string, snapshot: RoomSnapshot): void {
    const actor = this.#rooms.get(key);
    if (actor === undefined) return;
    this.#rooms.delete(key);
    if (this.#viewers.size === 0) return;
    // The machine has no final state: a room ends when the server forgets it, which is a stop.
    const { value, context } = roomSnapshotOf(actor, snapshot);
    const stopped: InspectedSnapshot = { status: 'stopped', value, context };
    this.#broadcast(snapshotEvent(actor, { type: 'xstate.stop' }, stopped, this.#stamp()));
  }

  // ---- Peers (SignalingInspector) -----------------------------------------------------------

  publishPeerBatch(peer: InspectingPeer, batch: unknown, chars: number): SignalingError | undefined {
    const now = this.#now();
    let actors = this.#peers.get(peer.socketId);
    if (actors === undefined) {
      actors = new PeerActors(peer, this.#keptPeerChars, now, [...this.#secrets, ...peer.secrets]);
      this.#peers.set(peer.socketId, actors);
    }
    const refusal = this.#checkBatch(actors, batch, chars, now);
    if (refusal !== undefined) {
      this.stats.peerBatchesRefused += 1;
      return refusal;
    }
    this.stats.peerBatches += 1;
    for (const event of batch as InspectionEvent[]) {
      const rewritten = actors.rewrite(event, this.#id(), now);
      const frame = JSON.stringify(rewritten);
      actors.keep(rewritten, frame.length);
      this.#deliver(frame);
    }
    return undefined;
  }

  peerLeft(socketId: string): void {
    const actors = this.#peers.get(socketId);
    if (actors === undefined) return;
    this.#peers.delete(socketId);
    const stopped = actors.stopAll(() => this.#id(), this.#now());
    if (this.#viewers.size > 0) for (const event of stopped) this.#broadcast(event);
  }

  #checkBatch(actors: PeerActors, batch: unknown, chars: number, now: number): SignalingError | undefined {
    if (!actors.batches.take(now)) return SignalingError.rateLimited('inspect');
    // `chars` may be the packet's text, which is the batch plus `42["inspect",` and `]`.
    if (chars > INSPECT_LIMITS.maxBatchChars + PACKET_OVERHEAD_CHARS) {
      return SignalingError.inspectRefused(
        `the batch has ${chars} characters of JSON, at most ${INSPECT_LIMITS.maxBatchChars} are taken`,
      );
    }
    try {
      parseInspectBatch(batch);
    } catch (error) {
      if (error instanceof SignalingError) return error;
      throw error;
    }
    return undefined;
  }

  // ---- Frames -------------------------------------------------------------------------------

  /** Every live actor with its current snapshot, as frames made one at a time. */
  *#picture(): Generator<string> {
    for (const actor of this.#rooms.values()) yield this.#frame(this.#roomActorEvent(actor));
    for (const actor of this.#sessions.values()) yield this.#frame(this.#sessionActorEvent(actor));
    for (const actors of this.#peers.values()) {
      // Browsers' events were redacted on the way in.
      for (const event of actors.picture()) yield JSON.stringify(event);
    }
  }

  #roomActorEvent(actor: ServerActor<RoomSnapshot>): InspectionEvent {
    const snapshot = roomSnapshotOf(actor, actor.snapshot);
    return actorEvent(actor, actor.sessionId, this.#definitionsOf().room, snapshot, this.#id());
  }

  #sessionActorEvent(actor: ServerActor<SessionSnapshot>): InspectionEvent {
    const snapshot = sessionSnapshotOf(actor.snapshot);
    return actorEvent(actor, 'engineSession', this.#definitionsOf().session, snapshot, this.#id());
  }

  /** The event an actor took, then its snapshot after it. */
  #broadcastChange(actor: ServerActor<unknown>, event: InspectedEvent, snapshot: InspectedSnapshot): void {
    this.#broadcast(eventEvent(actor, event, this.#stamp()));
    this.#broadcast(snapshotEvent(actor, event, snapshot, this.#stamp()));
  }

  #broadcast(event: InspectionEvent): void {
    this.#deliver(this.#frame(event));
  }

  /** One event as it leaves: redacted, then JSON. */
  #frame(event: InspectionEvent): string {
    return JSON.stringify(redactInspectionEvent(event, this.#secrets));
  }

  #deliver(frame: string): void {
    for (const viewer of this.#viewers) {
      try {
        viewer.deliver(frame);
      } catch (error) {
        // Called from the engine's and the registry's lifecycle paths: never throw into them.
        if (!this.#failureLogged) this.#log.warn({ error: String(error) }, 'inspector: writing to a viewer failed');
        this.#failureLogged = true;
      }
    }
  }

  #id(): string {
    this.#nextId += 1;
    return String(this.#nextId);
  }

  #stamp(): EventStamp {
    return { id: this.#id(), createdAt: String(this.#now()) };
  }

  #definitionsOf(): { readonly room: string; readonly session: string } {
    this.#definitions ??= machineDefinitions();
    return this.#definitions;
  }
}
