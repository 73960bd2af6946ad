/**
 * The signaling room: who is in it, in which role, and what the server must do when peers come
 * and go. Capacity is two, the size of a one-to-one call.
 *
 *   empty ──join──▶ waiting ──join──▶ ready (full: a further join is refused)
 *     ▲               │  ▲              │
 *     └─────leave─────┘  └────leave─────┘   (the one left is told peer-left)
 *
 * The machine is pure. Its effects are named here and implemented by the server, which runs
 * it with XState's pure `transition()` and keeps one snapshot per room (see
 * src/signaling/room-registry.ts). Relaying is a question to the snapshot: who else is here?
 */
import { assertEvent, assign, setup } from 'xstate';
import type { PeerRole } from '../protocol/signaling-events.js';

/** Most peers a room holds. */
export const ROOM_CAPACITY = 2;

/** One member of the room. */
export interface RoomPeer {
  readonly id: string;
  readonly role: PeerRole;
}

/** The room's extended state. */
export interface RoomContext {
  readonly room: string;
  readonly peers: readonly RoomPeer[];
}

/** Events the server feeds the room; `room.leave` covers both an explicit leave and a disconnect. */
export type RoomEvent = { type: 'room.join'; peerId: string } | { type: 'room.leave'; peerId: string };

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

const isMember = ({ context, event }: { context: RoomContext; event: RoomEvent }) =>
  context.peers.some((peer) => peer.id === event.peerId);

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
    /** Tell the peer that was waiting that the call can start: it offers. */
    notifyReady: (_, _params: { peerId: string }) => {},
    /** Refuse a join because the room already holds a call. */
    refuseRoomFull: (_, _params: { peerId: string; room: string }) => {},
    /** Tell the peer still in the room that the other one left. */
    notifyPeerLeft: (_, _params: { peerId: string }) => {},
    /** Forget the room: nobody is left in it. */
    disposeRoom: (_, _params: { room: string }) => {},
    admitPeer: assign({
      peers: ({ context, event }) => {
        assertEvent(event, 'room.join');
        return [...context.peers, { id: event.peerId, role: roleForNewcomer(context.peers) }];
      },
    }),
    removePeer: assign({
      peers: ({ context, event }) => {
        assertEvent(event, 'room.leave');
        return context.peers.filter((peer) => peer.id !== event.peerId);
      },
    }),
  },
  guards: {
    isMember,
    isNewcomer: (args) => !isMember(args),
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => ({ room: input.room, peers: [] }),
  initial: 'empty',
  states: {
    empty: {
      on: {
        'room.join': {
          target: 'waiting',
          actions: ['admitPeer', { type: 'welcomePeer', params: welcomeParams }],
        },
      },
    },
    waiting: {
      on: {
        'room.join': {
          guard: 'isNewcomer',
          target: 'ready',
          actions: [
            'admitPeer',
            { type: 'welcomePeer', params: welcomeParams },
            { type: 'notifyReady', params: ({ context }) => ({ peerId: context.peers[0].id }) },
          ],
        },
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
          actions: {
            type: 'refuseRoomFull',
            params: ({ context, event }) => ({ peerId: event.peerId, room: context.room }),
          },
        },
        'room.leave': {
          guard: 'isMember',
          target: 'waiting',
          actions: [
            'removePeer',
            { type: 'notifyPeerLeft', params: ({ context }) => ({ peerId: context.peers[0].id }) },
          ],
        },
      },
    },
  },
});

function welcomeParams({ context }: { context: RoomContext }) {
  const newcomer = context.peers[context.peers.length - 1];
  return { peerId: newcomer.id, role: newcomer.role, room: context.room };
}
