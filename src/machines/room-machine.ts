/**
 * The signaling room: who is in it, in which role, and what the server must do when peers come
 * and go. Capacity is two, the size of a one-to-one call.
 *
 *   empty ──join──▶ waiting ──join──▶ ready (full: a further join is refused)
 *     ▲               │  ▲              │
 *     └─────leave─────┘  └────leave─────┘   (the one left is told peer-left)
 *
 * A member whose connection drops keeps its seat and role for the recovery window: it is
 * *away* (`room.drop`), not gone, and the other peer is told nothing; `room.back` when its
 * session recovers. Only a leave (explicit, or the window's expiry) releases the seat, so a room
 * with a seat held is still `ready` (full to a third joiner) or `waiting`. Each seat's presence is
 * in the context; {@link isHeld} says whether any seat is held. (They are not substates: the
 * room's state names are part of the inspector's stream and of the metrics.)
 *
 * After a restart the room re-forms from resume tokens (`room.resume`): the first returner takes
 * its old seat and role, and the seat of the peer it was in a call with is *expected* for the
 * window, so that nobody else takes it meanwhile.
 *
 * The machine is pure. Its effects are named here and implemented by the server, which runs
 * it with XState's pure `transition()` and keeps one snapshot per room (see
 * src/signaling/room-registry.ts). Relaying is a question to the snapshot: who else is here?
 */
import { assertEvent, assign, setup } from 'xstate';
import type { PeerRole } from '../protocol/signaling-events.js';

/** Most peers a room holds. */
export const ROOM_CAPACITY = 2;

/**
 * Whether a member is connected: `here`; `away`, its connection dropped and its session held by
 * the engine for the recovery window (what is sent to it is kept and replayed when it is back);
 * or `expected`, a seat re-formed after a restart from its partner's resume token, which nobody
 * holds yet (nothing can reach it until it resumes).
 */
export type RoomPresence = 'here' | 'away' | 'expected';

/** One member of the room. */
export interface RoomPeer {
  readonly id: string;
  readonly role: PeerRole;
  readonly presence: RoomPresence;
}

/** The room's extended state. */
export interface RoomContext {
  readonly room: string;
  readonly peers: readonly RoomPeer[];
}

/** Events the server feeds the room, named by source: the peer's connection. */
export type RoomEvent =
  /** A fresh join (a CONNECT without a valid resume token). */
  | { type: 'room.join'; peerId: string }
  /**
   * A join with a verified resume token: the peer's identity, role and the partner it was in a
   * call with when the token was issued.
   */
  | { type: 'room.resume'; peerId: string; role: PeerRole; partnerId: string | undefined }
  /** A member's connection dropped and its session is held for the recovery window. */
  | { type: 'room.drop'; peerId: string }
  /** An away member's session recovered. */
  | { type: 'room.back'; peerId: string }
  /** A member leaves: explicitly, on an unrecoverable disconnect, or when its held seat expires. */
  | { type: 'room.leave'; peerId: string };

/** Who else is in the room besides `peerId`, if anyone. */
export function otherPeer(context: RoomContext, peerId: string): RoomPeer | undefined {
  const [first, second] = context.peers;
  if (first?.id === peerId) return second;
  if (second?.id === peerId) return first;
  return undefined;
}

/** The role a newcomer takes: the one the peer already here does not have. */
function roleForNewcomer(peers: readonly RoomPeer[]): PeerRole {
  // The first peer is the impolite one: in the original example it offers on `ready`.
  return peers[0]?.role === 'impolite' ? 'polite' : 'impolite';
}

function otherRole(role: PeerRole): PeerRole {
  return role === 'impolite' ? 'polite' : 'impolite';
}

type GuardArgs = { context: RoomContext; event: RoomEvent };

const memberOf = ({ context, event }: GuardArgs) => context.peers.find((peer) => peer.id === event.peerId);
const isMember = (args: GuardArgs) => memberOf(args) !== undefined;

function withPresence(peers: readonly RoomPeer[], peerId: string, presence: RoomPresence): RoomPeer[] {
  return peers.map((peer) => (peer.id === peerId ? { ...peer, presence } : peer));
}

/** The room statechart. Provide the effects with `roomMachine.provide({ actions })`. */
export const roomMachine = setup({
  types: {
    context: {} as RoomContext,
    events: {} as RoomEvent,
    input: {} as { room: string },
  },
  actions: {
    /** Tell the newcomer its room, its role, and give it ICE servers. */
    welcomePeer: (_, _params: { peerId: string; role: PeerRole; room: string }) => {},
    /** Tell a resuming peer it has its old seat and role back: the same call goes on. */
    welcomeBack: (_, _params: { peerId: string; role: PeerRole; room: string }) => {},
    /** Tell the peer that was waiting that the call can start: it offers. */
    notifyReady: (_, _params: { peerId: string }) => {},
    /** Refuse a join because the room already holds a call (or holds a seat for one). */
    refuseRoomFull: (_, _params: { peerId: string; room: string }) => {},
    /** Tell the peer still in the room that the other one left. */
    notifyPeerLeft: (_, _params: { peerId: string }) => {},
    /** Forget the room: nobody is left in it. */
    disposeRoom: (_, _params: { room: string }) => {},
    admitPeer: assign({
      peers: ({ context, event }) => {
        assertEvent(event, ['room.join', 'room.resume']);
        return [...context.peers, { id: event.peerId, role: roleForNewcomer(context.peers), presence: 'here' }];
      },
    }),
    /** Seats a resuming peer in an empty room in its old role, and expects its partner back. */
    admitResumed: assign({
      peers: ({ event }) => {
        assertEvent(event, 'room.resume');
        const returner: RoomPeer = { id: event.peerId, role: event.role, presence: 'here' };
        if (event.partnerId === undefined || event.partnerId === event.peerId) return [returner];
        return [returner, { id: event.partnerId, role: otherRole(event.role), presence: 'expected' }];
      },
    }),
    markHere: assign({ peers: ({ context, event }) => withPresence(context.peers, event.peerId, 'here') }),
    markAway: assign({ peers: ({ context, event }) => withPresence(context.peers, event.peerId, 'away') }),
    /** Removes the leaver, and a seat that was only expected for its sake. */
    removePeer: assign({
      peers: ({ context, event }) => {
        assertEvent(event, 'room.leave');
        return context.peers.filter((peer) => peer.id !== event.peerId && peer.presence !== 'expected');
      },
    }),
  },
  guards: {
    isMember,
    isNewcomer: (args) => !isMember(args),
    /** The event's peer is a member whose connection is up. */
    isHere: (args) => memberOf(args)?.presence === 'here',
    /** The event's peer is a member whose session the engine holds. */
    isAway: (args) => memberOf(args)?.presence === 'away',
    /** The resume token names a partner to expect back. */
    hasPartner: ({ event }) =>
      event.type === 'room.resume' && event.partnerId !== undefined && event.partnerId !== event.peerId,
    /** A member leaves, and the one that would stay was only expected: nobody remains. */
    leavesOnlyExpected: (args) => isMember(args) && otherPeer(args.context, args.event.peerId)?.presence === 'expected',
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => ({ room: input.room, peers: [] }),
  initial: 'empty',
  on: {
    'room.drop': { guard: 'isHere', actions: 'markAway' },
    'room.back': { guard: 'isAway', actions: 'markHere' },
  },
  states: {
    empty: {
      on: {
        'room.join': {
          target: 'waiting',
          actions: ['admitPeer', { type: 'welcomePeer', params: newcomer }],
        },
        'room.resume': [
          {
            guard: 'hasPartner',
            target: 'ready',
            actions: ['admitResumed', { type: 'welcomeBack', params: backParams }],
          },
          { target: 'waiting', actions: ['admitResumed', { type: 'welcomeBack', params: backParams }] },
        ],
      },
    },
    waiting: {
      on: {
        'room.join': {
          guard: 'isNewcomer',
          target: 'ready',
          actions: admitNewcomer(),
        },
        'room.resume': [
          { guard: 'isMember', actions: ['markHere', { type: 'welcomeBack', params: backParams }] },
          // Not the peer waiting here, nor its partner: the call it resumes is over. It joins
          // afresh (in the role the room gives it) and the peer waiting offers, as for any newcomer.
          { target: 'ready', actions: admitNewcomer() },
        ],
        'room.leave': {
          guard: 'isMember',
          target: 'empty',
          actions: ['removePeer', { type: 'disposeRoom', params: ({ context }) => ({ room: context.room }) }],
        },
      },
    },
    ready: {
      tags: ['full'],
      on: {
        'room.join': {
          guard: 'isNewcomer',
          actions: { type: 'refuseRoomFull', params: refusal },
        },
        'room.resume': [
          { guard: 'isMember', actions: ['markHere', { type: 'welcomeBack', params: backParams }] },
          { actions: { type: 'refuseRoomFull', params: refusal } },
        ],
        'room.leave': [
          {
            guard: 'leavesOnlyExpected',
            target: 'empty',
            actions: ['removePeer', { type: 'disposeRoom', params: ({ context }) => ({ room: context.room }) }],
          },
          {
            guard: 'isMember',
            target: 'waiting',
            actions: [
              'removePeer',
              { type: 'notifyPeerLeft', params: ({ context }) => ({ peerId: context.peers[0].id }) },
            ],
          },
        ],
      },
    },
  },
});

/** Whether the room holds a seat for a peer that is not connected (away, or expected after a restart). */
export function isHeld(context: RoomContext): boolean {
  return context.peers.some((peer) => peer.presence !== 'here');
}

/** Seats a newcomer, welcomes it, and tells the peer that waited (it offers). */
function admitNewcomer() {
  return [
    'admitPeer',
    { type: 'welcomePeer', params: newcomer },
    { type: 'notifyReady', params: ({ context }: { context: RoomContext }) => ({ peerId: context.peers[0].id }) },
  ] as const;
}

/** The params of `welcomePeer`: the peer admitted last. */
function newcomer({ context }: { context: RoomContext }) {
  const peer = context.peers[context.peers.length - 1];
  return { peerId: peer.id, role: peer.role, room: context.room };
}

function backParams({ context, event }: { context: RoomContext; event: RoomEvent }) {
  const peer = context.peers.find((p) => p.id === event.peerId)!;
  return { peerId: peer.id, role: peer.role, room: context.room };
}

function refusal({ context, event }: { context: RoomContext; event: RoomEvent }) {
  return { peerId: event.peerId, room: context.room };
}
