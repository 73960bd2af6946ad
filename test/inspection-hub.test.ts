/**
 * The inspector's parts without a network: `redact()` (what may leave the server), a slow
 * viewer's bounded memory (frames dropped over the limit, then a marker and the whole picture
 * again once it drains, or a 1008 close after sustained overflow), and the bounds on what is kept
 * of browsers' actors.
 */
import { describe, expect, it } from 'vitest';
import { getInitialSnapshot, transition } from 'xstate';
import { roomMachine } from '../src/machines/room-machine.js';
import type { InspectionEvent } from '../src/protocol/inspection-events.js';
import { silentLog } from '../src/signaling/engine/engine-log.js';
import { InspectionHub } from '../src/signaling/inspector/inspection-hub.js';
import type { ViewerSocket } from '../src/signaling/inspector/inspection-viewer.js';
import { MAX_PEER_ACTORS } from '../src/signaling/inspector/peer-actors.js';
import {
  MAX_INSPECTED_STRING,
  REDACTED,
  redact,
  redactDefinition,
  redactInspectionEvent,
} from '../src/signaling/inspector/redact.js';
import { peerActorEvent } from './helpers/inspection-stream.js';

describe('redact', () => {
  it('removes secret fields by name, the username of ICE servers included', () => {
    expect(
      redact({
        iceServers: [{ urls: 'turn:t', username: '1700000000:sock', credential: 'c' }],
        secret: 's',
        roomSecret: 's',
        token: 't',
        Authorization: 'Bearer x',
        password: 'p',
        turnCredentials: { a: 1 },
        usernameFragment: 'ufrag',
        keep: 'me',
        none: null,
      }),
    ).toEqual({
      iceServers: [{ urls: 'turn:t', username: REDACTED, credential: REDACTED }],
      secret: REDACTED,
      roomSecret: REDACTED,
      token: REDACTED,
      Authorization: REDACTED,
      password: REDACTED,
      turnCredentials: REDACTED,
      // An ICE candidate's fragment is no credential.
      usernameFragment: 'ufrag',
      keep: 'me',
      none: null,
    });
  });

  it('removes any string that contains a known secret, wherever it is', () => {
    expect(redact({ a: ['x', { b: 'error: the secret is abcdef123 here' }], c: 'abcdef12' }, ['abcdef123'])).toEqual({
      a: ['x', { b: REDACTED }],
      c: 'abcdef12',
    });
  });

  it('cuts long strings, saying how long they were, and bounds nesting', () => {
    const sdp = 'v=0\r\n'.repeat(100);
    expect(redact({ sdp })).toEqual({ sdp: `${sdp.slice(0, MAX_INSPECTED_STRING)}…(${sdp.length} chars)` });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { deep };
    expect(JSON.stringify(redact(deep))).toContain('[too deep]');
  });

  it('keeps no prototype-setting keys and no functions', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as unknown;
    const copy = redact({ parsed, fn: () => 1 }) as Record<string, unknown>;
    expect(copy).toEqual({ parsed: { ok: 1 } });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('redacts a definition inside, keeps its long strings whole only up to the limit, and drops what is not JSON', () => {
    expect(JSON.parse(redactDefinition(JSON.stringify({ id: 'm', context: { token: 'x' } }))!)).toEqual({
      id: 'm',
      context: { token: REDACTED },
    });
    expect(redactDefinition('not json')).toBeUndefined();
    expect(redactDefinition(JSON.stringify({ s: 'x'.repeat(40_000) }))).toBeUndefined();
  });

  it('leaves ids and the tag of an event alone and redacts its payloads', () => {
    const event: InspectionEvent = {
      type: '@xstate.snapshot',
      sessionId: 'peer:a:b',
      rootId: 'peer:a:b',
      createdAt: '1',
      id: '2',
      _version: '0.7.2',
      parley: { kind: 'peer', room: 'r' },
      event: { type: 'signal.iceServers', credential: 'c' },
      snapshot: { status: 'active', value: 'x', context: { secret: 's' } },
    };
    expect(redactInspectionEvent(event)).toEqual({
      ...event,
      event: { type: 'signal.iceServers', credential: REDACTED },
      snapshot: { status: 'active', value: 'x', context: { secret: REDACTED } },
    });
  });
});

/** A viewer socket whose buffer fills with what is sent until the test drains it. */
class FakeViewerSocket implements ViewerSocket {
  readonly frames: string[] = [];
  buffered = 0;
  ended: { code: number; reason: string } | undefined;

  send(frame: string): number {
    this.frames.push(frame);
    this.buffered += frame.length;
    return 0;
  }

  getBufferedAmount(): number {
    return this.buffered;
  }

  end(code: number, reason: string): void {
    this.ended = { code, reason };
  }

  events(): InspectionEvent[] {
    return this.frames.map((frame) => JSON.parse(frame) as InspectionEvent);
  }
}

function hubWithRooms(count: number, clock: { now: number }): InspectionHub {
  const hub = new InspectionHub({
    secrets: [],
    log: silentLog,
    now: () => clock.now,
    // Room frames carry the room machine's definition (about 1.8 KB since it holds seats): room for four.
    viewer: { maxBufferedBytes: 8_000, maxOverflowMs: 5_000 },
  });
  for (let i = 0; i < count; i++) {
    const key = `room${i}`;
    hub.roomOpened(key, getInitialSnapshot(roomMachine, { room: key }));
  }
  return hub;
}

describe('a slow viewer', () => {
  it('gets the picture paced by its socket: no more than the limit is ever queued', () => {
    const clock = { now: 1 };
    const hub = hubWithRooms(50, clock);
    const socket = new FakeViewerSocket();
    const viewer = hub.addViewer(socket);
    expect(socket.frames.length).toBeGreaterThan(0);
    expect(socket.frames.length).toBeLessThan(50);
    let rounds = 0;
    while (socket.frames.length < 50 && rounds++ < 100) {
      expect(socket.buffered).toBeLessThan(8_000 + 4_000);
      socket.buffered = 0;
      viewer.drained();
    }
    expect(socket.events().map((e) => e.sessionId)).toEqual(Array.from({ length: 50 }, (_, i) => `room:room${i}`));
    expect(socket.events().every((e) => e.type === '@xstate.actor')).toBe(true);
  });

  it('drops frames over the limit, then gets a marker with the count and the whole picture again', () => {
    const clock = { now: 1 };
    const hub = hubWithRooms(3, clock);
    const socket = new FakeViewerSocket();
    const viewer = hub.addViewer(socket);
    expect(socket.frames).toHaveLength(3);
    socket.buffered = 10_000;
    // Changes while the viewer is full: dropped and counted.
    const snapshot = getInitialSnapshot(roomMachine, { room: 'room0' });
    const [joined] = transition(roomMachine, snapshot, { type: 'room.join', peerId: 'p' });
    hub.roomChanged('room0', { type: 'room.join', peerId: 'p' }, joined);
    hub.roomChanged('room0', { type: 'room.join', peerId: 'p' }, joined);
    expect(socket.frames).toHaveLength(3);
    socket.buffered = 0;
    viewer.drained();
    const after = socket.events().slice(3);
    expect(after[0]).toMatchObject({
      type: '@xstate.event',
      sessionId: 'parley:inspector',
      event: { type: 'parley.framesDropped', count: 4 },
      parley: { kind: 'inspector' },
    });
    // The picture again, with room0 as it is now.
    expect(after.slice(1).map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.actor', '@xstate.actor']);
    expect(after[1]).toMatchObject({ sessionId: 'room:room0', snapshot: { value: 'waiting' } });
    hub.removeViewer(viewer);
    expect(hub.stats.droppedFrames).toBe(4);
  });

  it('is closed with 1008 when it keeps overflowing', () => {
    const clock = { now: 1 };
    const hub = hubWithRooms(1, clock);
    const socket = new FakeViewerSocket();
    hub.addViewer(socket);
    socket.buffered = 10_000;
    const snapshot = getInitialSnapshot(roomMachine, { room: 'room0' });
    for (let t = 0; t <= 6_000; t += 500) {
      clock.now = 1 + t;
      hub.roomChanged('room0', { type: 'room.leave', peerId: 'nobody' }, snapshot);
    }
    expect(socket.ended).toEqual({ code: 1008, reason: 'inspector viewer too slow' });
    const sent = socket.frames.length;
    hub.roomChanged('room0', { type: 'room.leave', peerId: 'nobody' }, snapshot);
    expect(socket.frames).toHaveLength(sent);
  });
});

describe("what is kept of browsers' actors", () => {
  it(`keeps at most ${MAX_PEER_ACTORS} live actors per browser, and forgets ended ones`, () => {
    const hub = new InspectionHub({ secrets: [], log: silentLog });
    const peer = { socketId: 's', room: 'r', secrets: [] };
    for (let batch = 0; batch < 2; batch++) {
      const events = Array.from({ length: 30 }, (_, i) => peerActorEvent(`a${batch}-${i}`, { value: 'x' }));
      expect(hub.publishPeerBatch(peer, events, JSON.stringify(events).length)).toBeUndefined();
    }
    const done = [
      { ...peerActorEvent('a0-0', {}), type: '@xstate.snapshot', event: { type: 'x' }, snapshot: { status: 'done' } },
    ];
    hub.publishPeerBatch(peer, done, 100);
    const socket = new FakeViewerSocket();
    hub.addViewer(socket);
    const ids = socket.events().map((e) => e.sessionId);
    expect(ids).toHaveLength(MAX_PEER_ACTORS - 1);
    expect(ids).not.toContain('peer:s:a0-0');
    hub.peerLeft('s');
    expect(socket.events().filter((e) => e.type === '@xstate.snapshot')).toHaveLength(MAX_PEER_ACTORS - 1);
  });
});
