/**
 * All rooms of one server, each kept as a snapshot of the room machine and advanced with pure
 * transitions (see snapshot-stepper.ts). A snapshot is a few hundred bytes; an actor per room
 * would cost several times that and a mailbox per event, which tens of thousands of rooms
 * don't need.
 *
 * Rooms are keyed by name and secret ({@link roomKey}): peers who name the same room with
 * different secrets (or one with none) are in different rooms and never learn of each other.
 */
import { createHash } from 'node:crypto';
import type { SnapshotFrom } from 'xstate';
import { createSnapshotStepper, type SnapshotStepper, type SteppedAction } from './snapshot-stepper.js';
import { isHeld, otherPeer, roomMachine, type RoomEvent, type RoomPeer } from '../machines/room-machine.js';
import type { PeerRole } from '../protocol/signaling-events.js';

/** A room's snapshot of the room machine. */
export type RoomSnapshot = SnapshotFrom<typeof roomMachine>;

/**
 * The room machine's effects, as the signaling server implements them. The newcomer's own
 * effects are optional: the server answers a join from its {@link JoinOutcome} instead (the
 * newcomer's CONNECT is not acknowledged while the machine runs), so only observers need them.
 */
export interface RoomEffects {
  welcomePeer?(peerId: string, role: PeerRole, room: string): void;
  welcomeBack?(peerId: string, role: PeerRole, room: string): void;
  notifyReady(peerId: string): void;
  refuseRoomFull?(peerId: string, room: string): void;
  notifyPeerLeft(peerId: string): void;
}

/**
 * Watches every room's life as the room machine sees it (the live state inspector,
 * src/signaling/inspector). Called synchronously; it must not throw or touch the registry.
 * Without one the registry makes no call at all.
 */
export interface RoomObserver {
  /** Room `key` was made, in the machine's initial state. */
  roomOpened(key: string, snapshot: RoomSnapshot): void;
  /** Room `key` took `event` and is now in `snapshot`; told before the effects run. */
  roomChanged(key: string, event: RoomEvent, snapshot: RoomSnapshot): void;
  /** Room `key` was disposed of (nobody is left); `snapshot` is its last. */
  roomDisposed(key: string, snapshot: RoomSnapshot): void;
}

/**
 * What a join came to, read from the room's snapshot after it: admitted in a role (`resumed`
 * when the peer got its old seat back from a resume token: the same call goes on), or refused.
 */
export type JoinOutcome =
  | { readonly admitted: true; readonly role: PeerRole; readonly resumed: boolean }
  | { readonly admitted: false; readonly reason: 'room-full' };

/** The state of a room's machine. */
export type RoomState = 'empty' | 'waiting' | 'ready';

/** What a room looks like from outside, for tests and health checks. */
export interface RoomView {
  /** The room's key (see {@link roomKey}). */
  readonly room: string;
  readonly state: RoomState;
  /** Whether a seat is held for a peer that is not connected (away, or expected after a restart). */
  readonly held: boolean;
  readonly peers: readonly RoomPeer[];
}

/**
 * The registry key of room `name` opened with `secret`: the name alone without a secret, else
 * the name, a NUL (which no room name contains) and the secret's SHA-256 in base64url. The
 * secret itself is never stored.
 */
export function roomKey(name: string, secret: string | undefined): string {
  if (secret === undefined) return name;
  return `${name}\u0000${createHash('sha256').update(secret).digest('base64url')}`;
}

/**
 * How a room is shown to operators (the inspector): its public name, and for a room with a
 * secret `~` and the first 6 characters of the secret's hash, which tells rooms of the same
 * name apart and says nothing of the secret.
 */
export function roomDisplayName(key: string): string {
  const separator = key.indexOf('\u0000');
  return separator < 0 ? key : `${key.slice(0, separator)}~${key.slice(separator + 1, separator + 7)}`;
}

/** Rooms by key, driven by the room machine. */
export class RoomRegistry {
  readonly #rooms = new Map<string, RoomSnapshot>();
  readonly #machine: SnapshotStepper<typeof roomMachine>;
  readonly #observer: RoomObserver | undefined;

  constructor(effects: RoomEffects, observer?: RoomObserver) {
    this.#observer = observer;
    const machine = roomMachine.provide({
      actions: {
        welcomePeer: (_, { peerId, role, room }) => effects.welcomePeer?.(peerId, role, room),
        welcomeBack: (_, { peerId, role, room }) => effects.welcomeBack?.(peerId, role, room),
        notifyReady: (_, { peerId }) => effects.notifyReady(peerId),
        refuseRoomFull: (_, { peerId, room }) => effects.refuseRoomFull?.(peerId, room),
        notifyPeerLeft: (_, { peerId }) => effects.notifyPeerLeft(peerId),
        disposeRoom: (_, { room }) => this.#dispose(room),
      },
    });
    this.#machine = createSnapshotStepper(machine);
  }

  /**
   * Feeds `room.join` to the room, creating it if needed, runs the resulting effects, and says
   * whether the peer is now a member, in which role.
   */
  join(room: string, peerId: string): JoinOutcome {
    return this.#enter(room, { type: 'room.join', peerId });
  }

  /**
   * Feeds `room.resume` (a peer with a verified resume token) to the room, creating it if
   * needed. The outcome is `resumed` when the peer has its old seat back; otherwise the room
   * took it as a newcomer (or refused it), as for {@link RoomRegistry.join}.
   */
  resume(room: string, peerId: string, role: PeerRole, partnerId: string | undefined): JoinOutcome {
    return this.#enter(room, { type: 'room.resume', peerId, role, partnerId });
  }

  /** Feeds `room.drop`: a member's connection dropped and its seat is held. */
  drop(room: string, peerId: string): void {
    const snapshot = this.#rooms.get(room);
    if (snapshot !== undefined) this.#advance(room, snapshot, { type: 'room.drop', peerId });
  }

  /** Feeds `room.back`: an away member's session recovered. */
  back(room: string, peerId: string): void {
    const snapshot = this.#rooms.get(room);
    if (snapshot !== undefined) this.#advance(room, snapshot, { type: 'room.back', peerId });
  }

  /** Feeds `room.leave`; unknown rooms and non-members are ignored, as the machine says. */
  leave(room: string, peerId: string): void {
    const snapshot = this.#rooms.get(room);
    if (snapshot !== undefined) this.#advance(room, snapshot, { type: 'room.leave', peerId });
  }

  /** `peerId` as a member of the room (its role), or undefined if it is not in it. */
  member(room: string, peerId: string): RoomPeer | undefined {
    const snapshot = this.#rooms.get(room);
    return snapshot && memberOf(snapshot, peerId);
  }

  /** The other peer of `peerId`'s room while the call is up, else undefined: may I relay? */
  peerOf(room: string, peerId: string): string | undefined {
    const snapshot = this.#rooms.get(room);
    return snapshot?.hasTag('full') ? otherPeer(snapshot.context, peerId)?.id : undefined;
  }

  /** The member of `peerId`'s room other than `peerId`, whatever the room's state. */
  partnerOf(room: string, peerId: string): RoomPeer | undefined {
    const snapshot = this.#rooms.get(room);
    return snapshot && otherPeer(snapshot.context, peerId);
  }

  /** One room's state, or undefined when it does not exist (empty rooms are disposed of). */
  view(room: string): RoomView | undefined {
    const snapshot = this.#rooms.get(room);
    return snapshot && { room, state: snapshot.value, held: isHeld(snapshot.context), peers: snapshot.context.peers };
  }

  /** Rooms by state (empty rooms are disposed of, so only waiting and ready ones exist). */
  countByState(): Record<RoomView['state'], number> {
    const counts = { empty: 0, waiting: 0, ready: 0 };
    for (const snapshot of this.#rooms.values()) counts[snapshot.value] += 1;
    return counts;
  }

  /** How many rooms exist. */
  get size(): number {
    return this.#rooms.size;
  }

  #create(room: string): RoomSnapshot {
    const [snapshot] = this.#machine.initial({ room });
    if (this.#observer !== undefined) this.#observer.roomOpened(room, snapshot);
    return snapshot;
  }

  #enter(room: string, event: Extract<RoomEvent, { type: 'room.join' | 'room.resume' }>): JoinOutcome {
    const snapshot = this.#rooms.get(room) ?? this.#create(room);
    const [next, actions] = this.#advance(room, snapshot, event);
    const member = memberOf(next, event.peerId);
    // The machine turns a newcomer away only from a full room.
    if (member === undefined) return { admitted: false, reason: 'room-full' };
    return { admitted: true, role: member.role, resumed: actions.some((action) => action.type === 'welcomeBack') };
  }

  #advance(room: string, snapshot: RoomSnapshot, event: RoomEvent): [RoomSnapshot, SteppedAction[]] {
    const [next, actions] = this.#machine.step(snapshot, event);
    // Store first: effects may look the room up, and `disposeRoom` removes it again.
    this.#rooms.set(room, next);
    if (this.#observer !== undefined) this.#observer.roomChanged(room, event, next);
    for (const action of actions) action.exec?.(action.info as never, action.params as never);
    return [next, actions];
  }

  #dispose(room: string): void {
    const last = this.#rooms.get(room);
    this.#rooms.delete(room);
    if (this.#observer !== undefined && last !== undefined) this.#observer.roomDisposed(room, last);
  }
}

function memberOf(snapshot: RoomSnapshot, peerId: string): RoomPeer | undefined {
  return snapshot.context.peers.find((peer) => peer.id === peerId);
}
