/**
 * Unit tests of RoomRegistry and the room keys: what the registry adds to the room machine
 * (test/room-machine.test.ts) is keeping one snapshot per room, creating and disposing of rooms,
 * running the machine's effects in order, telling an observer, and answering questions about
 * rooms that may not exist. Each test records what the effects and the observer were told.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RoomPeer } from '../src/machines/room-machine.js';
import {
  RoomRegistry,
  roomDisplayName,
  roomKey,
  type RoomEffects,
  type RoomObserver,
} from '../src/signaling/room-registry.js';

const here = (id: string, role: RoomPeer['role']): RoomPeer => ({ id, role, presence: 'here' });
const away = (id: string, role: RoomPeer['role']): RoomPeer => ({ id, role, presence: 'away' });

/** A registry whose effects and observer calls are recorded, in order, in one log. */
function recordedRegistry({ observe = true, optionalEffects = true } = {}) {
  const log: string[] = [];
  const effects: RoomEffects = {
    notifyReady: (peerId) => log.push(`ready:${peerId}`),
    notifyPeerLeft: (peerId) => log.push(`peer-left:${peerId}`),
    ...(optionalEffects && {
      welcomePeer: (peerId, role, room) => log.push(`welcome:${room}:${peerId}:${role}`),
      welcomeBack: (peerId, role, room) => log.push(`back:${room}:${peerId}:${role}`),
      refuseRoomFull: (peerId, room) => log.push(`full:${room}:${peerId}`),
    }),
  };
  const observer: RoomObserver = {
    roomOpened: (key, snapshot) => log.push(`opened:${key}:${snapshot.value}:${snapshot.context.peers.length}`),
    roomChanged: (key, event, snapshot) =>
      log.push(`changed:${key}:${event.type}:${event.peerId}:${snapshot.value}:${snapshot.context.peers.length}`),
    roomDisposed: (key, snapshot) =>
      log.push(`disposed:${key}:${snapshot.value}:${snapshot.context.peers.map((p) => p.id).join('+')}`),
  };
  const rooms = new RoomRegistry(effects, observe ? observer : undefined);
  return { rooms, log };
}

describe('roomKey', () => {
  it('is the name alone without a secret', () => {
    expect(roomKey('lobby', undefined)).toBe('lobby');
  });

  it("is the name, a NUL and the secret's SHA-256 in base64url with a secret, never the secret", () => {
    const hash = createHash('sha256').update('s3cret').digest('base64url');
    expect(roomKey('lobby', 's3cret')).toBe(`lobby\u0000${hash}`);
    expect(roomKey('lobby', 's3cret')).not.toContain('s3cret');
    expect(roomKey('lobby', 'other')).not.toBe(roomKey('lobby', 's3cret'));
    // An empty secret is a secret: its room is not the room without one.
    expect(roomKey('lobby', '')).toBe(`lobby\u0000${createHash('sha256').update('').digest('base64url')}`);
  });
});

describe('roomDisplayName', () => {
  it('shows a room without a secret by its name', () => {
    expect(roomDisplayName('lobby')).toBe('lobby');
    expect(roomDisplayName('a')).toBe('a');
  });

  it("shows a room with a secret as its name, ~ and the first 6 characters of the secret's hash", () => {
    const hash = createHash('sha256').update('s3cret').digest('base64url');
    expect(roomDisplayName(roomKey('lobby', 's3cret'))).toBe(`lobby~${hash.slice(0, 6)}`);
    // A one-character name: the separator is at 1, and the name is kept whole.
    expect(roomDisplayName(roomKey('x', 's3cret'))).toBe(`x~${hash.slice(0, 6)}`);
  });

  it('keeps an empty name apart from the hash (the separator at 0)', () => {
    expect(roomDisplayName('\u0000abcdefgh')).toBe('~abcdef');
  });
});

describe('RoomRegistry', () => {
  it('creates a room on the first join, tells the observer, then runs the effects', () => {
    const { rooms, log } = recordedRegistry();
    expect(rooms.join('x', 'a')).toEqual({ admitted: true, role: 'impolite', resumed: false });
    expect(log).toEqual(['opened:x:empty:0', 'changed:x:room.join:a:waiting:1', 'welcome:x:a:impolite']);
    expect(rooms.size).toBe(1);
    expect(rooms.view('x')).toEqual({ room: 'x', state: 'waiting', held: false, peers: [here('a', 'impolite')] });
  });

  it('admits the second peer as polite into the same room, and tells the first', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    log.length = 0;
    expect(rooms.join('x', 'b')).toEqual({ admitted: true, role: 'polite', resumed: false });
    // No second `opened`: the room is stepped from its stored snapshot.
    expect(log).toEqual(['changed:x:room.join:b:ready:2', 'welcome:x:b:polite', 'ready:a']);
    expect(rooms.view('x')?.peers).toEqual([here('a', 'impolite'), here('b', 'polite')]);
  });

  it('refuses a third peer with room-full and leaves the call as it was', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    log.length = 0;
    expect(rooms.join('x', 'c')).toEqual({ admitted: false, reason: 'room-full' });
    expect(log).toEqual(['changed:x:room.join:c:ready:2', 'full:x:c']);
    expect(rooms.member('x', 'c')).toBeUndefined();
    expect(rooms.peerOf('x', 'a')).toBe('b');
  });

  it('admits a member that joins again in the role it has, without effects', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    log.length = 0;
    expect(rooms.join('x', 'b')).toEqual({ admitted: true, role: 'polite', resumed: false });
    expect(rooms.join('x', 'a')).toEqual({ admitted: true, role: 'impolite', resumed: false });
    expect(log.filter((line) => !line.startsWith('changed:'))).toEqual([]);
  });

  it('says resumed only when the machine welcomed the peer back', () => {
    const { rooms, log } = recordedRegistry();
    expect(rooms.resume('x', 'b', 'polite', 'a')).toEqual({ admitted: true, role: 'polite', resumed: true });
    expect(log).toEqual(['opened:x:empty:0', 'changed:x:room.resume:b:ready:2', 'back:x:b:polite']);
    expect(rooms.view('x')).toEqual({
      room: 'x',
      state: 'ready',
      held: true,
      peers: [here('b', 'polite'), { id: 'a', role: 'impolite', presence: 'expected' }],
    });
    // The partner takes its expected seat: welcomed back too.
    expect(rooms.resume('x', 'a', 'impolite', 'b')).toEqual({ admitted: true, role: 'impolite', resumed: true });
    expect(rooms.view('x')?.held).toBe(false);
  });

  it('says a resume into a waiting room whose call is over is a fresh join', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'c');
    log.length = 0;
    expect(rooms.resume('x', 'b', 'impolite', 'a')).toEqual({ admitted: true, role: 'polite', resumed: false });
    expect(log).toEqual(['changed:x:room.resume:b:ready:2', 'welcome:x:b:polite', 'ready:c']);
  });

  it('refuses a resume into a room two others hold', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'c');
    rooms.join('x', 'd');
    log.length = 0;
    expect(rooms.resume('x', 'b', 'polite', 'a')).toEqual({ admitted: false, reason: 'room-full' });
    expect(log).toEqual(['changed:x:room.resume:b:ready:2', 'full:x:b']);
  });

  it('holds a dropped seat and gives it back, with the other peer told nothing', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    log.length = 0;
    rooms.drop('x', 'b');
    expect(rooms.view('x')).toEqual({
      room: 'x',
      state: 'ready',
      held: true,
      peers: [here('a', 'impolite'), away('b', 'polite')],
    });
    // The call is still up: `data` is relayed to the held seat (the engine replays it).
    expect(rooms.peerOf('x', 'a')).toBe('b');
    rooms.back('x', 'b');
    expect(rooms.view('x')?.held).toBe(false);
    expect(log).toEqual(['changed:x:room.drop:b:ready:2', 'changed:x:room.back:b:ready:2']);
  });

  it('tells the one left peer-left, then disposes of the room when the last peer leaves', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    log.length = 0;
    rooms.leave('x', 'a');
    expect(log).toEqual(['changed:x:room.leave:a:waiting:1', 'peer-left:b']);
    expect(rooms.view('x')).toEqual({ room: 'x', state: 'waiting', held: false, peers: [here('b', 'polite')] });
    log.length = 0;
    rooms.leave('x', 'b');
    // The observer sees the step, then the disposal with the room's last snapshot.
    expect(log).toEqual(['changed:x:room.leave:b:empty:0', 'disposed:x:empty:']);
    expect(rooms.view('x')).toBeUndefined();
    expect(rooms.size).toBe(0);
    expect(rooms.member('x', 'b')).toBeUndefined();
  });

  it('opens a fresh room after one was disposed of', () => {
    const { rooms, log } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.leave('x', 'a');
    log.length = 0;
    expect(rooms.join('x', 'b')).toEqual({ admitted: true, role: 'impolite', resumed: false });
    expect(log[0]).toBe('opened:x:empty:0');
  });

  it('ignores drops, backs and leaves for rooms that do not exist, creating none', () => {
    const { rooms, log } = recordedRegistry();
    rooms.drop('nowhere', 'a');
    rooms.back('nowhere', 'a');
    rooms.leave('nowhere', 'a');
    expect(log).toEqual([]);
    expect(rooms.size).toBe(0);
    expect(rooms.view('nowhere')).toBeUndefined();
  });

  it('answers questions about a room that does not exist with undefined', () => {
    const { rooms } = recordedRegistry();
    expect(rooms.member('nowhere', 'a')).toBeUndefined();
    expect(rooms.peerOf('nowhere', 'a')).toBeUndefined();
    expect(rooms.partnerOf('nowhere', 'a')).toBeUndefined();
    expect(rooms.view('nowhere')).toBeUndefined();
  });

  it('finds members by identity, and a stranger in none', () => {
    const { rooms } = recordedRegistry();
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    expect(rooms.member('x', 'a')).toEqual(here('a', 'impolite'));
    expect(rooms.member('x', 'b')).toEqual(here('b', 'polite'));
    expect(rooms.member('x', 'c')).toBeUndefined();
  });

  it('relays only within a ready room, and never to a stranger', () => {
    const { rooms } = recordedRegistry();
    rooms.join('x', 'a');
    expect(rooms.peerOf('x', 'a')).toBeUndefined();
    rooms.join('x', 'b');
    expect(rooms.peerOf('x', 'a')).toBe('b');
    expect(rooms.peerOf('x', 'b')).toBe('a');
    expect(rooms.peerOf('x', 'c')).toBeUndefined();
  });

  it("names a member's partner whatever the room's state", () => {
    const { rooms } = recordedRegistry();
    rooms.join('x', 'a');
    expect(rooms.partnerOf('x', 'a')).toBeUndefined();
    rooms.join('x', 'b');
    expect(rooms.partnerOf('x', 'a')).toEqual(here('b', 'polite'));
    expect(rooms.partnerOf('x', 'b')).toEqual(here('a', 'impolite'));
    rooms.drop('x', 'b');
    expect(rooms.partnerOf('x', 'a')).toEqual(away('b', 'polite'));
    // A resumed room expects the partner: not yet able to relay to it, but named.
    rooms.resume('y', 'c', 'impolite', 'd');
    expect(rooms.partnerOf('y', 'c')).toEqual({ id: 'd', role: 'polite', presence: 'expected' });
  });

  it('keeps rooms of different keys apart', () => {
    const { rooms } = recordedRegistry();
    rooms.join(roomKey('x', undefined), 'a');
    rooms.join(roomKey('x', 'secret'), 'b');
    expect(rooms.size).toBe(2);
    expect(rooms.peerOf(roomKey('x', undefined), 'a')).toBeUndefined();
    expect(rooms.view(roomKey('x', 'secret'))?.peers).toEqual([here('b', 'impolite')]);
  });

  it('counts rooms by state', () => {
    const { rooms } = recordedRegistry();
    expect(rooms.countByState()).toEqual({ empty: 0, waiting: 0, ready: 0 });
    rooms.join('x', 'a');
    rooms.join('y', 'b');
    rooms.join('y', 'c');
    rooms.join('z', 'd');
    expect(rooms.countByState()).toEqual({ empty: 0, waiting: 2, ready: 1 });
    rooms.leave('y', 'c');
    rooms.leave('x', 'a');
    expect(rooms.countByState()).toEqual({ empty: 0, waiting: 2, ready: 0 });
  });

  it('works without an observer, and without the optional effects', () => {
    const { rooms, log } = recordedRegistry({ observe: false, optionalEffects: false });
    expect(rooms.join('x', 'a')).toEqual({ admitted: true, role: 'impolite', resumed: false });
    expect(rooms.join('x', 'b')).toEqual({ admitted: true, role: 'polite', resumed: false });
    expect(rooms.join('x', 'c')).toEqual({ admitted: false, reason: 'room-full' });
    expect(rooms.resume('y', 'c', 'polite', 'd')).toEqual({ admitted: true, role: 'polite', resumed: true });
    rooms.leave('x', 'a');
    rooms.leave('x', 'b');
    expect(rooms.size).toBe(1);
    expect(log).toEqual(['ready:a', 'peer-left:b']);
  });

  it('has stored the new snapshot when an effect runs, so an effect may look the room up', () => {
    const seen: unknown[] = [];
    const rooms: RoomRegistry = new RoomRegistry({
      notifyReady: (peerId) => seen.push(['ready', peerId, rooms.view('x')?.state, rooms.peerOf('x', peerId)]),
      notifyPeerLeft: (peerId) => seen.push(['peer-left', peerId, rooms.view('x')?.state, rooms.member('x', peerId)]),
      welcomePeer: (peerId, role) => seen.push(['welcome', peerId, role, rooms.member('x', peerId)?.role]),
    });
    rooms.join('x', 'a');
    rooms.join('x', 'b');
    rooms.leave('x', 'a');
    expect(seen).toEqual([
      ['welcome', 'a', 'impolite', 'impolite'],
      ['welcome', 'b', 'polite', 'polite'],
      ['ready', 'a', 'ready', 'b'],
      ['peer-left', 'b', 'waiting', here('b', 'polite')],
    ]);
  });
});
