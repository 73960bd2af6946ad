import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { isHeld, otherPeer, roomMachine, type RoomPeer } from '../src/machines/room-machine.js';
import { RoomRegistry } from '../src/signaling/room-registry.js';

/** A room actor whose effects are recorded as `name:peer` strings. */
function recordedRoom() {
  const effects: string[] = [];
  const machine = roomMachine.provide({
    actions: {
      welcomePeer: (_, { peerId, role }) => effects.push(`welcome:${peerId}:${role}`),
      welcomeBack: (_, { peerId, role }) => effects.push(`back:${peerId}:${role}`),
      notifyReady: (_, { peerId }) => effects.push(`ready:${peerId}`),
      refuseRoomFull: (_, { peerId }) => effects.push(`full:${peerId}`),
      notifyPeerLeft: (_, { peerId }) => effects.push(`peer-left:${peerId}`),
      disposeRoom: (_, { room }) => effects.push(`dispose:${room}`),
    },
  });
  const actor = createActor(machine, { input: { room: 'r1' } }).start();
  const join = (peerId: string) => actor.send({ type: 'room.join', peerId });
  const leave = (peerId: string) => actor.send({ type: 'room.leave', peerId });
  const drop = (peerId: string) => actor.send({ type: 'room.drop', peerId });
  const back = (peerId: string) => actor.send({ type: 'room.back', peerId });
  const resume = (peerId: string, role: 'polite' | 'impolite', partnerId?: string) =>
    actor.send({ type: 'room.resume', peerId, role, partnerId });
  /** The state, and whether a seat is held in it: `waiting`, `ready (held)`, ... */
  const state = () => {
    const { value, context } = actor.getSnapshot();
    return isHeld(context) ? `${value} (held)` : value;
  };
  return { actor, effects, join, leave, drop, back, resume, state };
}

const here = (id: string, role: RoomPeer['role']): RoomPeer => ({ id, role, presence: 'here' });

describe('room machine', () => {
  it('starts empty', () => {
    const { actor, effects } = recordedRoom();
    expect(actor.getSnapshot().value).toBe('empty');
    expect(effects).toEqual([]);
  });

  it('welcomes the first peer as the impolite one and waits', () => {
    const { actor, effects, join } = recordedRoom();
    join('a');
    expect(actor.getSnapshot().matches('waiting')).toBe(true);
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
    expect(actor.getSnapshot().matches('ready')).toBe(true);
    expect(actor.getSnapshot().context.peers.map((p) => p.id)).toEqual(['a', 'b']);
    expect(effects.at(-1)).toBe('full:c');
  });

  it('goes back to waiting and tells the one left when a peer leaves a call', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    join('b');
    leave('a');
    expect(actor.getSnapshot().value).toBe('waiting');
    expect(actor.getSnapshot().context.peers).toEqual([here('b', 'polite')]);
    expect(effects.at(-1)).toBe('peer-left:b');
  });

  it('gives a newcomer the role the remaining peer does not have', () => {
    const { actor, effects, join, leave } = recordedRoom();
    join('a');
    join('b');
    leave('a');
    join('c');
    expect(actor.getSnapshot().context.peers).toEqual([here('b', 'polite'), here('c', 'impolite')]);
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
    expect(actor.getSnapshot().matches('waiting')).toBe(true);
    join('b');
    join('b');
    leave('z');
    expect(actor.getSnapshot().matches('ready')).toBe(true);
    expect(effects).toEqual(['welcome:a:impolite', 'welcome:b:polite', 'ready:a']);
  });

  it('answers who the other peer is', () => {
    const context = {
      room: 'r',
      peers: [here('a', 'impolite'), here('b', 'polite')],
    };
    expect(otherPeer(context, 'a')?.id).toBe('b');
    expect(otherPeer(context, 'b')?.id).toBe('a');
    expect(otherPeer(context, 'c')).toBeUndefined();
  });
});

describe('room machine: seats held during the recovery window', () => {
  it('holds the seat of a peer whose connection drops and tells the other nothing', () => {
    const { actor, effects, join, drop, state } = recordedRoom();
    join('a');
    join('b');
    drop('b');
    expect(state()).toBe('ready (held)');
    expect(actor.getSnapshot().context.peers).toEqual([
      here('a', 'impolite'),
      { id: 'b', role: 'polite', presence: 'away' },
    ]);
    expect(effects).toEqual(['welcome:a:impolite', 'welcome:b:polite', 'ready:a']);
  });

  it('gives the seat back in the same role when the peer is back', () => {
    const { actor, effects, join, drop, back, state } = recordedRoom();
    join('a');
    join('b');
    drop('b');
    back('b');
    expect(state()).toBe('ready');
    expect(actor.getSnapshot().context.peers).toEqual([here('a', 'impolite'), here('b', 'polite')]);
    expect(effects).toHaveLength(3);
  });

  it('stays apart until both peers are back when both dropped', () => {
    const { join, drop, back, state } = recordedRoom();
    join('a');
    join('b');
    drop('a');
    drop('b');
    back('a');
    expect(state()).toBe('ready (held)');
    back('b');
    expect(state()).toBe('ready');
  });

  it('refuses a third joiner with room-full while a seat is held', () => {
    const { actor, effects, join, drop, state } = recordedRoom();
    join('a');
    join('b');
    drop('b');
    join('c');
    expect(effects.at(-1)).toBe('full:c');
    expect(state()).toBe('ready (held)');
    expect(actor.getSnapshot().context.peers.map((p) => p.id)).toEqual(['a', 'b']);
  });

  it('releases the seat when the window expires (a leave), and the other is told peer-left', () => {
    const { effects, join, drop, leave, state } = recordedRoom();
    join('a');
    join('b');
    drop('b');
    leave('b');
    expect(state()).toBe('waiting');
    expect(effects.at(-1)).toBe('peer-left:a');
  });

  it('tells an away peer that the other left: into its held socket, replayed when it is back', () => {
    const { effects, join, drop, leave, back, state } = recordedRoom();
    join('a');
    join('b');
    drop('a');
    leave('b');
    expect(state()).toBe('waiting (held)');
    expect(effects.at(-1)).toBe('peer-left:a');
    back('a');
    expect(state()).toBe('waiting');
  });

  it('holds the seat of a peer waiting alone, and seats a newcomer beside it (ready goes to the held socket)', () => {
    const { effects, join, drop, back, state } = recordedRoom();
    join('a');
    drop('a');
    expect(state()).toBe('waiting (held)');
    join('b');
    expect(state()).toBe('ready (held)');
    expect(effects.slice(-2)).toEqual(['welcome:b:polite', 'ready:a']);
    back('a');
    expect(state()).toBe('ready');
  });

  it('disposes of the room when a lone held seat expires', () => {
    const { effects, join, drop, leave, state } = recordedRoom();
    join('a');
    drop('a');
    leave('a');
    expect(state()).toBe('empty');
    expect(effects.at(-1)).toBe('dispose:r1');
  });

  it('ignores drops and backs of strangers, a back of a peer that is here and a drop of one away', () => {
    const { effects, join, drop, back, state } = recordedRoom();
    join('a');
    back('a');
    drop('z');
    expect(state()).toBe('waiting');
    drop('a');
    drop('a');
    back('z');
    expect(state()).toBe('waiting (held)');
    expect(effects).toEqual(['welcome:a:impolite']);
  });
});

describe('room machine: resuming with a token after a restart', () => {
  it('re-forms an empty room around the returner in its old role and expects its partner', () => {
    const { actor, effects, resume, state } = recordedRoom();
    resume('b', 'polite', 'a');
    expect(state()).toBe('ready (held)');
    expect(actor.getSnapshot().context.peers).toEqual([
      here('b', 'polite'),
      { id: 'a', role: 'impolite', presence: 'expected' },
    ]);
    expect(effects).toEqual(['back:b:polite']);
  });

  it('gives the expected seat to the partner when it resumes: no ready, no peer-left', () => {
    const { effects, resume, state } = recordedRoom();
    resume('b', 'polite', 'a');
    resume('a', 'impolite', 'b');
    expect(state()).toBe('ready');
    expect(effects).toEqual(['back:b:polite', 'back:a:impolite']);
  });

  it('keeps the expected seat from a third joiner', () => {
    const { effects, resume, join } = recordedRoom();
    resume('b', 'polite', 'a');
    join('c');
    expect(effects.at(-1)).toBe('full:c');
  });

  it('lets the returner wait alone, told peer-left, when the expected seat expires', () => {
    const { actor, effects, resume, leave, state } = recordedRoom();
    resume('b', 'polite', 'a');
    leave('a');
    expect(state()).toBe('waiting');
    expect(actor.getSnapshot().context.peers).toEqual([here('b', 'polite')]);
    expect(effects.at(-1)).toBe('peer-left:b');
  });

  it('releases a seat expected only for the returner when the returner leaves', () => {
    const { effects, resume, leave, state } = recordedRoom();
    resume('b', 'polite', 'a');
    leave('b');
    expect(state()).toBe('empty');
    expect(effects.at(-1)).toBe('dispose:r1');
  });

  it('seats a returner that was alone in its old role, with nobody expected', () => {
    const { effects, resume, state } = recordedRoom();
    resume('a', 'impolite', undefined);
    expect(state()).toBe('waiting');
    expect(effects).toEqual(['back:a:impolite']);
  });

  it('takes a returner whose call is over as a newcomer beside the peer waiting', () => {
    const { effects, join, resume, state } = recordedRoom();
    join('c');
    resume('b', 'impolite', 'a');
    expect(state()).toBe('ready');
    expect(effects).toEqual(['welcome:c:impolite', 'welcome:b:polite', 'ready:c']);
  });

  it('refuses a returner with room-full when two others hold the room', () => {
    const { effects, join, resume } = recordedRoom();
    join('c');
    join('d');
    resume('b', 'polite', 'a');
    expect(effects.at(-1)).toBe('full:b');
  });

  it('gives a member its seat back when it resumes with a new connection (away or here)', () => {
    const { effects, join, drop, resume, state } = recordedRoom();
    join('a');
    join('b');
    drop('b');
    resume('b', 'polite', 'a');
    expect(state()).toBe('ready');
    resume('a', 'impolite', 'b');
    expect(state()).toBe('ready');
    expect(effects.slice(-2)).toEqual(['back:b:polite', 'back:a:impolite']);
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
    expect(rooms.view('x')).toEqual({ room: 'x', state: 'waiting', held: false, peers: [here('c', 'impolite')] });
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

  it('says whether a join resumed a seat, and relays to a held seat', () => {
    const { rooms } = registry();
    expect(rooms.resume('x', 'b', 'polite', 'a')).toEqual({ admitted: true, role: 'polite', resumed: true });
    expect(rooms.view('x')).toMatchObject({ state: 'ready', held: true });
    expect(rooms.peerOf('x', 'b')).toBe('a');
    expect(rooms.join('x', 'c')).toEqual({ admitted: false, reason: 'room-full' });
    expect(rooms.resume('x', 'a', 'impolite', 'b')).toEqual({ admitted: true, role: 'impolite', resumed: true });
    expect(rooms.view('x')).toMatchObject({ state: 'ready', held: false });
    rooms.drop('x', 'a');
    expect(rooms.view('x')?.held).toBe(true);
    expect(rooms.peerOf('x', 'b')).toBe('a');
    rooms.back('x', 'a');
    expect(rooms.view('x')?.held).toBe(false);
    expect(rooms.countByState()).toEqual({ empty: 0, waiting: 0, ready: 1 });
  });

  it('says a returner whose call is over joined afresh, in the role the room gave it', () => {
    const { rooms, effects } = registry();
    rooms.join('x', 'c');
    expect(rooms.resume('x', 'b', 'impolite', 'a')).toEqual({ admitted: true, role: 'polite', resumed: false });
    expect(effects.at(-1)).toBe('ready:c');
  });
});

describe('room machine: edges the mutation tests found unpinned', () => {
  it('answers no other peer in a room of fewer than two', () => {
    expect(otherPeer({ room: 'r', peers: [] }, 'a')).toBeUndefined();
    const alone = { room: 'r', peers: [here('a', 'impolite')] };
    expect(otherPeer(alone, 'a')).toBeUndefined();
    expect(otherPeer(alone, 'z')).toBeUndefined();
  });

  it('expects the partner of an impolite returner back as the polite one', () => {
    const { actor, resume, state } = recordedRoom();
    resume('a', 'impolite', 'b');
    expect(state()).toBe('ready (held)');
    expect(actor.getSnapshot().context.peers).toEqual([
      here('a', 'impolite'),
      { id: 'b', role: 'polite', presence: 'expected' },
    ]);
  });

  it('expects nobody when a resume token names the returner as its own partner', () => {
    const { actor, effects, resume, state } = recordedRoom();
    resume('a', 'impolite', 'a');
    expect(state()).toBe('waiting');
    expect(actor.getSnapshot().context.peers).toEqual([here('a', 'impolite')]);
    expect(effects).toEqual(['back:a:impolite']);
  });

  it('ignores a drop and a back for a seat that is only expected (nobody holds it yet)', () => {
    const { actor, effects, resume, drop, back } = recordedRoom();
    resume('b', 'polite', 'a');
    const expected = [here('b', 'polite'), { id: 'a', role: 'impolite', presence: 'expected' }];
    drop('a');
    expect(actor.getSnapshot().context.peers).toEqual(expected);
    back('a');
    expect(actor.getSnapshot().context.peers).toEqual(expected);
    expect(effects).toEqual(['back:b:polite']);
  });

  it('gives the peer waiting alone its seat back when it resumes with a new connection', () => {
    const { effects, join, drop, resume, state } = recordedRoom();
    join('a');
    drop('a');
    resume('a', 'impolite', undefined);
    expect(state()).toBe('waiting');
    expect(effects).toEqual(['welcome:a:impolite', 'back:a:impolite']);
  });
});
