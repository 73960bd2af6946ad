import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { otherPeer, roomMachine } from '../src/machines/room-machine.js';
import { RoomRegistry } from '../src/signaling/room-registry.js';

/** A room actor whose effects are recorded as `name:peer` strings. */
function recordedRoom() {
  const effects: string[] = [];
  const machine = roomMachine.provide({
    actions: {
      welcomePeer: (_, { peerId, role }) => effects.push(`welcome:${peerId}:${role}`),
      notifyReady: (_, { peerId }) => effects.push(`ready:${peerId}`),
      refuseRoomFull: (_, { peerId }) => effects.push(`full:${peerId}`),
      notifyPeerLeft: (_, { peerId }) => effects.push(`peer-left:${peerId}`),
      disposeRoom: (_, { room }) => effects.push(`dispose:${room}`),
    },
  });
  const actor = createActor(machine, { input: { room: 'r1' } }).start();
  const join = (peerId: string) => actor.send({ type: 'room.join', peerId });
  const leave = (peerId: string) => actor.send({ type: 'room.leave', peerId });
  return { actor, effects, join, leave };
}

describe('room machine', () => {
  it('starts empty', () => {
    const { actor, effects } = recordedRoom();
    expect(actor.getSnapshot().value).toBe('empty');
    expect(effects).toEqual([]);
  });

  it('welcomes the first peer as the impolite one and waits', () => {
    const { actor, effects, join } = recordedRoom();
    join('a');
    expect(actor.getSnapshot().value).toBe('waiting');
    expect(effects).toEqual(['welcome:a:impolite']);
  });

  it('sends ready to the waiting peer when a second joins, which becomes the polite one', () => {
    const { actor, effects, join } = recordedRoom();
    join('a');
    join('b');
    expect(actor.getSnapshot().value).toBe('ready');
    expect(actor.getSnapshot().hasTag('full')).toBe(true);
    expect(effects).toEqual(['welcome:a:impolite', 'welcome:b:polite', 'ready:a']);
  });

  it('refuses a third peer with room-full and keeps the call up', () => {
    const { actor, effects, join } = recordedRoom();
    join('a');
    join('b');
    join('c');
    expect(actor.getSnapshot().value).toBe('ready');
    expect(actor.getSnapshot().context.peers.map((p) => p.id)).toEqual(['a', 'b']);
    expect(effects.at(-1)).toBe('full:c');
  });

  it('goes back to waiting and tells the one left when a peer leaves a call', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    join('b');
    leave('a');
    expect(actor.getSnapshot().value).toBe('waiting');
    expect(actor.getSnapshot().context.peers).toEqual([{ id: 'b', role: 'polite' }]);
    expect(effects.at(-1)).toBe('peer-left:b');
  });

  it('gives a newcomer the role the remaining peer does not have', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    join('b');
    leave('a');
    join('c');
    expect(actor.getSnapshot().context.peers).toEqual([
      { id: 'b', role: 'polite' },
      { id: 'c', role: 'impolite' },
    ]);
    expect(effects.slice(-2)).toEqual(['welcome:c:impolite', 'ready:b']);
  });

  it('disposes of the room when the last peer leaves', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    leave('a');
    expect(actor.getSnapshot().value).toBe('empty');
    expect(effects.at(-1)).toBe('dispose:r1');
  });

  it('ignores a leave from a stranger and a second join of a member', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    join('a');
    leave('z');
    expect(actor.getSnapshot().value).toBe('waiting');
    join('b');
    leave('z');
    expect(actor.getSnapshot().value).toBe('ready');
    expect(effects).toEqual(['welcome:a:impolite', 'welcome:b:polite', 'ready:a']);
  });

  it('answers who the other peer is', () => {
    const context = {
      room: 'r',
      peers: [
        { id: 'a', role: 'impolite' as const },
        { id: 'b', role: 'polite' as const },
      ],
    };
    expect(otherPeer(context, 'a')?.id).toBe('b');
    expect(otherPeer(context, 'b')?.id).toBe('a');
    expect(otherPeer(context, 'c')).toBeUndefined();
  });
});

describe('room registry', () => {
  function registry() {
    const effects: string[] = [];
    const rooms = new RoomRegistry({
      welcomePeer: (peerId, role, room) => effects.push(`welcome:${room}:${peerId}:${role}`),
      notifyReady: (peerId) => effects.push(`ready:${peerId}`),
      refuseRoomFull: (peerId, room) => effects.push(`full:${room}:${peerId}`),
      notifyPeerLeft: (peerId) => effects.push(`peer-left:${peerId}`),
    });
    return { rooms, effects };
  }

  it('keeps rooms apart and relays only within a ready room', () => {
    const { rooms, effects } = registry();
    rooms.join('x', 'a');
    rooms.join('y', 'c');
    expect(rooms.peerOf('x', 'a')).toBeUndefined();
    rooms.join('x', 'b');
    expect(rooms.peerOf('x', 'a')).toBe('b');
    expect(rooms.peerOf('x', 'b')).toBe('a');
    expect(rooms.peerOf('y', 'c')).toBeUndefined();
    expect(rooms.peerOf('x', 'c')).toBeUndefined();
    expect(rooms.size).toBe(2);
    expect(effects).toEqual(['welcome:x:a:impolite', 'welcome:y:c:impolite', 'welcome:x:b:polite', 'ready:a']);
  });

  it('forgets a room when its last peer leaves, and starts afresh on the next join', () => {
    const { rooms } = registry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    rooms.leave('x', 'a');
    expect(rooms.view('x')?.state).toBe('waiting');
    rooms.leave('x', 'b');
    expect(rooms.view('x')).toBeUndefined();
    expect(rooms.size).toBe(0);
    rooms.join('x', 'c');
    expect(rooms.view('x')).toEqual({ room: 'x', state: 'waiting', peers: [{ id: 'c', role: 'impolite' }] });
  });

  it('refuses a third peer without touching the call', () => {
    const { rooms, effects } = registry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    rooms.join('x', 'c');
    expect(effects.at(-1)).toBe('full:x:c');
    expect(rooms.view('x')?.peers.map((p) => p.id)).toEqual(['a', 'b']);
    expect(rooms.peerOf('x', 'a')).toBe('b');
  });
});
