/**
 * The live state inspector's rooms with `--redis`. The rooms live in Redis, shared by every
 * node, and no node's registry holds them; so a node shows the rooms where it holds a seat (a
 * peer connected to it, or held by it), as it knows them:
 * - every step this node makes (joins, leaves, drops and returns of its peers, a dead node's
 *   seats it releases) is shown with its event, as the in-memory registry shows its steps;
 * - a change another node made (the partner joining or leaving there) reaches this node as an
 *   effect for its peer: the room is then read from Redis and shown with the event
 *   `parley.changedOnAnotherNode` (which event it was is the other node's to show);
 * - a room with no seat on this node any more is shown stopped, as a disposed room is.
 * A change on another node that sends this node's peers nothing (the partner's connection
 * dropping there, its return) shows when this node next steps or reads the room.
 */
import type { InspectedEvent } from '../../protocol/inspection-events.js';
import type { RoomEvent } from '../../machines/room-machine.js';
import type { RoomSnapshot } from '../room-registry.js';

/** What the view tells: the hub's room side, which takes any inspected event. */
export interface ClusterRoomObserver {
  roomOpened(key: string, snapshot: RoomSnapshot): void;
  roomChanged(key: string, event: RoomEvent | InspectedEvent, snapshot: RoomSnapshot): void;
  roomDisposed(key: string, snapshot: RoomSnapshot): void;
}

/** How to build a {@link ClusterRoomView}. */
export interface ClusterRoomViewOptions {
  readonly observer: ClusterRoomObserver;
  /** Whether `peerId` has its seat on this node (the node directory's local seats). */
  readonly seatedHere: (peerId: string) => boolean;
  /** Room `key` as Redis has it now, or undefined when it is gone. */
  readonly read: (key: string) => Promise<RoomSnapshot | undefined>;
  /** Told when a read fails (Redis away): the room shows as it was. */
  readonly onReadError?: (key: string, error: unknown) => void;
}

/** The event a room is shown with after it was read because another node changed it. */
export const CHANGED_ON_ANOTHER_NODE: InspectedEvent = { type: 'parley.changedOnAnotherNode' };

/** The rooms with a seat on this node, fed to the inspector. */
export class ClusterRoomView {
  readonly #options: ClusterRoomViewOptions;
  /** The rooms shown, with their last shown snapshot and its fingerprint. */
  readonly #shown = new Map<string, { readonly snapshot: RoomSnapshot; readonly print: string }>();
  /**
   * Rooms being read, so that effects arriving together cost one read; `true` when another
   * effect came during the read, which is then read again (it may have missed that change).
   */
  readonly #reading = new Map<string, boolean>();
  /** Rooms this node stepped in this turn: the effects of its own step need no read. */
  readonly #justStepped = new Set<string>();

  constructor(options: ClusterRoomViewOptions) {
    this.#options = options;
  }

  /** This node stepped room `key` with `event` (told before the step's effects run). */
  stepped(key: string, event: RoomEvent, snapshot: RoomSnapshot): void {
    this.#justStepped.add(key);
    queueMicrotask(() => this.#justStepped.delete(key));
    this.#show(key, event, snapshot);
  }

  /**
   * An effect for a peer on this node arrived for room `key`: unless it is one of this node's own
   * step (shown already), read the room, and show it if it changed since it was last shown.
   */
  touched(key: string): void {
    if (this.#justStepped.has(key)) return;
    if (this.#reading.has(key)) {
      this.#reading.set(key, true);
      return;
    }
    this.#reading.set(key, false);
    void this.#options
      .read(key)
      .then(
        (snapshot) => {
          if (snapshot === undefined) this.#forget(key);
          else if (this.#shown.get(key)?.print !== fingerprint(snapshot)) {
            this.#show(key, CHANGED_ON_ANOTHER_NODE, snapshot);
          }
        },
        (error: unknown) => this.#options.onReadError?.(key, error),
      )
      .finally(() => {
        const again = this.#reading.get(key) === true;
        this.#reading.delete(key);
        if (again) this.touched(key);
      });
  }

  #show(key: string, event: RoomEvent | InspectedEvent, snapshot: RoomSnapshot): void {
    const { observer, seatedHere } = this.#options;
    const here = snapshot.value !== 'empty' && snapshot.context.peers.some((peer) => seatedHere(peer.id));
    const shown = this.#shown.has(key);
    if (!here) {
      if (!shown) return;
      // The step that took the last seat here away, then the room's end (as far as this node sees).
      observer.roomChanged(key, event, snapshot);
      this.#shown.set(key, { snapshot, print: fingerprint(snapshot) });
      this.#forget(key);
      return;
    }
    this.#shown.set(key, { snapshot, print: fingerprint(snapshot) });
    // A room this node starts to show is announced, then shown taking the event that seated it here.
    if (!shown) observer.roomOpened(key, snapshot);
    observer.roomChanged(key, event, snapshot);
  }

  /** Room `key` is no longer shown: it ends, in its last shown snapshot. */
  #forget(key: string): void {
    const last = this.#shown.get(key);
    if (last === undefined) return;
    this.#shown.delete(key);
    this.#options.observer.roomDisposed(key, last.snapshot);
  }
}

/** What a room's change is judged by: its state and context. */
function fingerprint(snapshot: RoomSnapshot): string {
  return JSON.stringify([snapshot.value, snapshot.context]);
}
