/**
 * Unit tests of the signaling app without a cluster: SignalingNamespace driven as the engine
 * drives it (connect, connected, event, disconnect, expired), with fake sockets that record what
 * they were sent. The integration tests (test/signaling-*.test.ts) show the same behaviour over
 * real connections; here each decision is pinned on its own: what each socket is told and when,
 * what is counted, which resume token is issued, and what a stale or draining socket changes
 * (nothing).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from './helpers/fake-server-socket.js';
import type { SignalingInspector } from '../src/signaling/inspector/inspection-hub.js';
import type { InspectingPeer } from '../src/signaling/inspector/peer-actors.js';
import { SignalingError } from '../src/protocol/signaling-error.js';
import { newPeerIdentity, ResumeTokens, type ResumeGrant } from '../src/signaling/resume-token.js';
import { roomDisplayName, roomKey } from '../src/signaling/room-registry.js';
import {
  DEFAULT_HOLD_WINDOW_MS,
  SignalingNamespace,
  TURN_REFRESH_FRACTION,
  type SignalingOptions,
} from '../src/signaling/signaling-namespace.js';
import { turnPassword, type TurnConfig } from '../src/signaling/turn-credentials.js';

const RESUME_SECRET = 'unit-test-resume-secret';
const NO_TURN: TurnConfig = { turnUrls: [], turnSecret: undefined, turnTtl: 600, stunUrls: ['stun:127.0.0.1:3478'] };
const TURN: TurnConfig = {
  turnUrls: ['turn:127.0.0.1:3478'],
  turnSecret: 'turn-secret',
  turnTtl: 600,
  stunUrls: ['stun:127.0.0.1:3478'],
};
/** 2026-11-27 12:00:00 UTC: every credential and token is issued at this time. */
const NOW = Date.UTC(2026, 10, 27, 12);

/** An inspector that records what the namespace told it, and refuses batches when asked. */
function recordingInspector(refuse?: SignalingError) {
  const batches: { peer: InspectingPeer; batch: unknown; chars: number }[] = [];
  const left: string[] = [];
  const roomEvents: string[] = [];
  const inspector: SignalingInspector = {
    rooms: {
      roomOpened: (key) => roomEvents.push(`opened:${key}`),
      roomChanged: (key, event) => roomEvents.push(`changed:${key}:${event.type}`),
      roomDisposed: (key) => roomEvents.push(`disposed:${key}`),
    },
    publishPeerBatch: (peer, batch, chars) => {
      batches.push({ peer: { ...peer, secrets: [...peer.secrets] }, batch, chars });
      return refuse;
    },
    peerLeft: (socketId) => left.push(socketId),
  };
  return { inspector, batches, left, roomEvents };
}

function namespace(options: Partial<SignalingOptions> = {}): SignalingNamespace {
  return new SignalingNamespace({ turn: NO_TURN, now: () => NOW, resumeSecret: RESUME_SECRET, ...options });
}

/** A socket with a fresh socket id (which has the shape of a peer identity) and this auth payload. */
function socketFor(auth: unknown, options?: { query?: string; remoteAddress?: string }): FakeSocket {
  return new FakeSocket(newPeerIdentity(), auth, options);
}

/** Connects `socket` as the engine does: CONNECT accepted, then acknowledged. */
function admit(signaling: SignalingNamespace, socket: FakeSocket): FakeSocket {
  expect(signaling.connect(socket)).toBeUndefined();
  signaling.connected(socket);
  return socket;
}

/** What a resume token says, read with the same secret. */
function grantOf(token: string, room = 'r', secret?: string): Omit<ResumeGrant, 'expiresAt'> | undefined {
  const grant = new ResumeTokens(RESUME_SECRET, { now: () => NOW }).verify(roomKey(room, secret), token);
  return grant && { peerId: grant.peerId, role: grant.role, partnerId: grant.partnerId };
}

/** Two peers in a call in room `room`. */
function call(signaling: SignalingNamespace, room = 'r') {
  const a = admit(signaling, socketFor({ room }));
  const b = admit(signaling, socketFor({ room }));
  return { a, b };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('joining', () => {
  it('welcomes the first peer with its role, the ICE servers and a token naming no partner', () => {
    const signaling = namespace();
    const a = socketFor({ room: 'r' });
    expect(signaling.connect(a)).toBeUndefined();
    // Nothing is sent before the CONNECT is acknowledged.
    expect(a.emitted).toEqual([]);
    signaling.connected(a);
    expect(a.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(a.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(a.all('ice-servers')).toEqual([[{ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }], ttl: 600 }]]);
    expect(grantOf(a.lastToken())).toEqual({ peerId: a.id, role: 'impolite', partnerId: undefined });
    expect(signaling.peerIdOf(a.id)).toBe(a.id);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([a.id]);
    // Issuing TURN credentials is what is counted, not ICE servers without them.
    expect(signaling.stats.turnCredentials).toBe(0);
  });

  it('tells the first peer ready, with a token that names the newcomer, when the second joins', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    const b = admit(signaling, socketFor({ room: 'r' }));
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite' }]]);
    expect(grantOf(b.lastToken())).toEqual({ peerId: b.id, role: 'polite', partnerId: a.id });
    expect(a.names()).toEqual(['ready', 'resume-token']);
    expect(grantOf(a.lastToken())).toEqual({ peerId: a.id, role: 'impolite', partnerId: b.id });
  });

  it('gives a socket whose id is no peer identity a fresh identity of its own', () => {
    const signaling = namespace();
    const a = admit(signaling, new FakeSocket('not-an-identity', { room: 'r' }));
    const peerId = signaling.peerIdOf('not-an-identity');
    expect(peerId).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(grantOf(a.lastToken())?.peerId).toBe(peerId);
    expect(signaling.peerIdOf('no-such-socket')).toBeUndefined();
  });

  it('keeps rooms with and without a secret apart, and shows each its public name', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r', secret: 'pw' }));
    const b = admit(signaling, socketFor({ room: 'r' }));
    expect(a.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(a.names()).not.toContain('ready');
    expect(grantOf(a.lastToken(), 'r', 'pw')?.peerId).toBe(a.id);
    expect(grantOf(a.lastToken(), 'r')).toBeUndefined();
  });

  it('refuses a third peer with room-full, saying when a seat is held for a reconnecting peer', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    a.clear();
    b.clear();
    expect(signaling.connect(socketFor({ room: 'r' }))).toEqual({
      message: 'Room "r" is full: it already holds two peers.',
      data: { code: 'room-full', message: 'Room "r" is full: it already holds two peers.' },
    });
    signaling.disconnect(b, 'transport close', true);
    expect(signaling.connect(socketFor({ room: 'r' }))).toEqual({
      message: 'Room "r" is full: it holds two peers, one of them reconnecting.',
      data: { code: 'room-full', message: 'Room "r" is full: it holds two peers, one of them reconnecting.' },
    });
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([a.id, b.id]);
  });

  it('refuses a bad handshake with its error as the CONNECT error, and admits nobody', () => {
    const signaling = namespace();
    const refusal = signaling.connect(socketFor('not an object'));
    expect(refusal).toEqual({ message: expect.stringContaining('Invalid handshake'), data: expect.any(Object) });
    expect((refusal as { data: { code: string } }).data.code).toBe('bad-handshake');
    expect(signaling.connect(socketFor({ room: 'bad room!' }))).toMatchObject({ data: { code: 'bad-room-name' } });
    expect(signaling.rooms.size).toBe(0);
  });

  it('sends no welcome to a socket whose seat went before its CONNECT was acknowledged', () => {
    const signaling = namespace();
    const a = socketFor({ room: 'r' });
    expect(signaling.connect(a)).toBeUndefined();
    signaling.rooms.leave('r', a.id);
    signaling.connected(a);
    expect(a.emitted).toEqual([]);
  });

  it('tells nothing to a member that has no socket here, and carries on', () => {
    const signaling = namespace();
    // A seat given to the registry directly (a tool, or a seat whose socket is gone).
    const ghost = newPeerIdentity();
    signaling.rooms.join('r', ghost);
    const b = admit(signaling, socketFor({ room: 'r' }));
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'polite' }]]);
    signaling.disconnect(b, 'client namespace disconnect', false);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([ghost]);
  });

  it('sends nothing on connected to a socket it never admitted, or that another took over', () => {
    const signaling = namespace();
    const stranger = new FakeSocket(newPeerIdentity(), { room: 'r' });
    stranger.data = { room: 'r', key: 'r', peerId: stranger.id, arrival: 'joined' };
    signaling.connected(stranger);
    expect(stranger.emitted).toEqual([]);
  });
});

describe('ICE servers and TURN credentials', () => {
  it('issues TURN credentials that expire after the TTL, and counts them', () => {
    const signaling = namespace({ turn: TURN });
    const a = admit(signaling, socketFor({ room: 'r' }));
    const username = `${NOW / 1000 + 600}:${a.id}`;
    expect(a.all('ice-servers')).toEqual([
      [
        {
          iceServers: [
            { urls: ['stun:127.0.0.1:3478'] },
            { urls: ['turn:127.0.0.1:3478'], username, credential: turnPassword('turn-secret', username) },
          ],
          ttl: 600,
        },
      ],
    ]);
    expect(signaling.stats).toMatchObject({ turnCredentials: 1, turnRefused: 0 });
  });

  it('gives STUN only and a rate-limited error past the per-address rate; other addresses still get TURN', () => {
    const signaling = namespace({ turn: TURN, turnRate: { perMinute: 1, burst: 2 } });
    admit(signaling, socketFor({ room: 'a' }, { remoteAddress: '10.0.0.1' }));
    admit(signaling, socketFor({ room: 'b' }, { remoteAddress: '10.0.0.1' }));
    const third = admit(signaling, socketFor({ room: 'c' }, { remoteAddress: '10.0.0.1' }));
    expect(third.names()).toEqual(['role', 'ice-servers', 'error', 'resume-token']);
    expect(third.all('ice-servers')).toEqual([[{ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }], ttl: 600 }]]);
    expect(third.all('error')).toEqual([[SignalingError.turnRateLimited().toPayload()]]);
    const elsewhere = admit(signaling, socketFor({ room: 'd' }, { remoteAddress: '10.0.0.2' }));
    expect((elsewhere.all('ice-servers')[0]?.[0] as { iceServers: unknown[] }).iceServers).toHaveLength(2);
    expect(signaling.stats).toMatchObject({ turnCredentials: 3, turnRefused: 1 });
  });

  it('uses the default rate of 10 per address when given none', () => {
    const signaling = namespace({ turn: TURN });
    for (let i = 0; i < 10; i++) admit(signaling, socketFor({ room: `r${i}` }));
    expect(signaling.stats).toMatchObject({ turnCredentials: 10, turnRefused: 0 });
    admit(signaling, socketFor({ room: 'r10' }));
    expect(signaling.stats).toMatchObject({ turnCredentials: 10, turnRefused: 1 });
  });
});

describe('fresh TURN credentials before the old ones expire', () => {
  /** The TURN username of each `ice-servers` the socket was sent, in order (none for STUN only). */
  const turnUsernames = (socket: FakeSocket) =>
    socket.all('ice-servers').map(([payload]) => {
      const { iceServers } = payload as { iceServers: { username?: string }[] };
      return iceServers.find((server) => server.username !== undefined)?.username;
    });
  const refreshAfterMs = TURN_REFRESH_FRACTION * TURN.turnTtl * 1000;

  /** A namespace on a fake clock that starts at NOW; its sweep for due credentials is faked too. */
  function onFakeClock(options: Partial<SignalingOptions> = {}) {
    vi.useFakeTimers({ now: NOW });
    return namespace({ turn: TURN, now: () => Date.now(), ...options });
  }

  it('sends every peer holding TURN credentials new ones 80% into their lifetime, alone or in a call', () => {
    const signaling = onFakeClock();
    const alone = admit(signaling, socketFor({ room: 'alone' }));
    const { a, b } = call(signaling);
    vi.advanceTimersByTime(refreshAfterMs - 60_000);
    for (const peer of [alone, a, b]) expect(turnUsernames(peer)).toHaveLength(1);

    // The sweep runs once a minute at most: by then each peer has had new credentials, once.
    vi.advanceTimersByTime(60_000);
    const refreshedAt = NOW + refreshAfterMs;
    for (const peer of [alone, a, b]) {
      expect(turnUsernames(peer)).toEqual([`${NOW / 1000 + 600}:${peer.id}`, `${refreshedAt / 1000 + 600}:${peer.id}`]);
    }
    expect(signaling.stats.turnCredentials).toBe(6);
    // The next ones are due 80% into the new lifetime, not sooner.
    vi.advanceTimersByTime(refreshAfterMs - 60_000);
    expect(turnUsernames(alone)).toHaveLength(2);
    vi.advanceTimersByTime(60_000);
    expect(turnUsernames(alone)).toHaveLength(3);
  });

  it('refreshes credentials the per-address limit would not issue anew, and nothing for a peer that had STUN only', () => {
    const signaling = onFakeClock({ turnRate: { perMinute: 1, burst: 1 } });
    const first = admit(signaling, socketFor({ room: 'a' }, { remoteAddress: '10.0.0.1' }));
    const refused = admit(signaling, socketFor({ room: 'b' }, { remoteAddress: '10.0.0.1' }));
    expect(turnUsernames(refused)).toEqual([undefined]);
    vi.advanceTimersByTime(refreshAfterMs);
    expect(turnUsernames(first)).toHaveLength(2);
    expect(turnUsernames(refused)).toEqual([undefined]);
    expect(signaling.stats).toMatchObject({ turnCredentials: 2, turnRefused: 1 });
  });

  it('keeps the new credentials out of inspection events, as the first ones', () => {
    const { inspector, batches } = recordingInspector();
    const signaling = onFakeClock({ inspector });
    const a = admit(signaling, socketFor({ room: 'r' }));
    vi.advanceTimersByTime(refreshAfterMs);
    const username = turnUsernames(a)[1];
    expect(username).toBeDefined();
    signaling.event(a, 'inspect', [{ events: [] }], undefined, undefined);
    expect(batches.at(-1)?.peer.secrets).toContain(username);
  });

  it('sends nothing to a peer that left, nothing once the server stops, and never without TURN', () => {
    const signaling = onFakeClock();
    const { a, b } = call(signaling);
    signaling.disconnect(a, 'client namespace disconnect');
    vi.advanceTimersByTime(refreshAfterMs);
    expect(turnUsernames(a)).toHaveLength(1);
    expect(turnUsernames(b)).toHaveLength(2);
    signaling.stopping();
    vi.advanceTimersByTime(2 * refreshAfterMs);
    expect(turnUsernames(b)).toHaveLength(2);

    const withoutTurn = namespace({ now: () => Date.now() });
    const c = admit(withoutTurn, socketFor({ room: 'r' }));
    vi.advanceTimersByTime(2 * refreshAfterMs);
    expect(c.names()).toEqual(['role', 'ice-servers', 'resume-token']);
  });
});

describe('relaying data', () => {
  const offer = { type: 'offer', sdp: 'v=0' };

  it('forwards the packet text as received when it is exactly data and one payload, and counts its bytes', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const ack = vi.fn();
    signaling.event(a, 'data', [offer], ack, '2["data",{"type":"offer","sdp":"v=0"}]');
    expect(b.sentEncoded).toEqual(['2["data",{"type":"offer","sdp":"v=0"}]']);
    expect(ack).toHaveBeenCalledTimes(1);
    expect(a.sentEncoded).toEqual([]);
    expect(signaling.stats).toMatchObject({
      relayedMessages: 1,
      relayedBytes: '2["data",{"type":"offer","sdp":"v=0"}]'.length,
    });
  });

  it('emits the parsed payload when there is no packet text to forward, or more arguments than one', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    b.clear();
    signaling.event(a, 'data', [offer], undefined, undefined);
    signaling.event(a, 'data', [offer, 'extra'], undefined, '2["data",{"type":"offer","sdp":"v=0"},"extra"]');
    expect(b.sentEncoded).toEqual([]);
    expect(b.emitted).toEqual([
      ['data', offer],
      ['data', offer],
    ]);
    expect(signaling.stats).toMatchObject({ relayedMessages: 2, relayedBytes: 0 });
  });

  it('relays both ways within a call, and to a seat held away (the engine replays it)', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    b.clear();
    signaling.event(b, 'data', [{ type: 'answer', sdp: 'v=0' }], undefined, 'answer-text');
    expect(a.sentEncoded).toEqual(['answer-text']);
    signaling.disconnect(b, 'transport close', true);
    signaling.event(a, 'data', [offer], undefined, 'offer-text');
    expect(b.sentEncoded).toEqual(['offer-text']);
  });

  it('answers data with no peer with no-peer and counts it, acknowledging it all the same', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    const ack = vi.fn();
    signaling.event(a, 'data', [offer], ack, 'text');
    expect(a.emitted).toEqual([['error', SignalingError.noPeer().toPayload()]]);
    expect(ack).toHaveBeenCalledTimes(1);
    expect(signaling.stats).toMatchObject({
      relayedMessages: 0,
      dropped: { noPeer: 1, badPayload: 0, rateLimited: 0 },
    });
  });

  it('answers a bad payload with bad-payload, counts it and relays nothing', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    a.clear();
    b.clear();
    signaling.event(a, 'data', ['not an object'], undefined, '2["data","not an object"]');
    expect(a.all('error')).toEqual([[expect.objectContaining({ code: 'bad-payload' })]]);
    expect(b.emitted).toEqual([]);
    expect(b.sentEncoded).toEqual([]);
    expect(signaling.stats).toMatchObject({
      relayedMessages: 0,
      dropped: { noPeer: 0, badPayload: 1, rateLimited: 0 },
    });
  });
});

describe('other events', () => {
  it('acknowledges leave, then disconnects the socket (the engine reports that disconnect)', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const order: string[] = [];
    a.disconnect = () => order.push('disconnect');
    signaling.event(a, 'leave', [], () => order.push('ack'), undefined);
    expect(order).toEqual(['ack', 'disconnect']);
    expect(b.names()).not.toContain('peer-left');
  });

  it('takes a leave without an acknowledgement', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    signaling.event(a, 'leave', [], undefined, undefined);
    expect(a.disconnects).toBe(1);
  });

  it('answers an unknown event with unknown-event, without acknowledging it', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    const ack = vi.fn();
    signaling.event(a, 'shout', [], ack, undefined);
    expect(a.emitted).toEqual([['error', SignalingError.unknownEvent('shout').toPayload()]]);
    expect(ack).not.toHaveBeenCalled();
  });

  it('answers inspect with unknown-event when the inspector is off', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    signaling.event(a, 'inspect', [[]], undefined, undefined);
    expect(a.emitted).toEqual([['error', SignalingError.unknownEvent('inspect').toPayload()]]);
  });

  it('answers an event dropped for the message rate with rate-limited, and counts it', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    signaling.rateLimited(a, 'data');
    signaling.rateLimited(a, 'data');
    expect(a.emitted).toEqual([
      ['error', SignalingError.rateLimited('data').toPayload()],
      ['error', SignalingError.rateLimited('data').toPayload()],
    ]);
    expect(signaling.stats.dropped.rateLimited).toBe(2);
  });
});

describe('leaving', () => {
  it('releases the seat of a socket that went for good: the other is told peer-left, with a token naming nobody', () => {
    const { inspector, left } = recordingInspector();
    const signaling = namespace({ inspector });
    const { a, b } = call(signaling);
    a.clear();
    signaling.disconnect(b, 'client namespace disconnect', false);
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
    expect(grantOf(a.lastToken())).toEqual({ peerId: a.id, role: 'impolite', partnerId: undefined });
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([a.id]);
    expect(signaling.peerIdOf(b.id)).toBeUndefined();
    expect(left).toEqual([b.id]);
    // A newcomer takes the free seat.
    admit(signaling, socketFor({ room: 'r' }));
    expect(a.names().at(-2)).toBe('ready');
  });

  it('disposes of the room when its last peer leaves', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    signaling.disconnect(a, 'transport close', false);
    expect(signaling.rooms.size).toBe(0);
  });

  it('holds the seat of a socket held for recovery, telling the other peer nothing', () => {
    const { inspector, left } = recordingInspector();
    const signaling = namespace({ inspector });
    const { a, b } = call(signaling);
    a.clear();
    signaling.disconnect(b, 'transport close', true);
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: true });
    expect(signaling.peerIdOf(b.id)).toBe(b.id);
    expect(left).toEqual([]);
  });

  it('releases a held seat when its window passes: expired', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    a.clear();
    signaling.expired(b);
    expect(a.names()).toEqual(['peer-left', 'resume-token']);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([a.id]);
    expect(signaling.peerIdOf(b.id)).toBeUndefined();
  });

  it('ignores disconnects and expiries of sockets it never admitted', () => {
    const signaling = namespace();
    const { a } = call(signaling);
    a.clear();
    const stranger = socketFor({ room: 'r' });
    signaling.disconnect(stranger, 'transport close', false);
    signaling.expired(stranger);
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(2);
  });

  it('leaves every seat as it is once the server is shutting down, for the next process to re-form', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const c = admit(signaling, socketFor({ room: 's' }));
    const d = admit(signaling, socketFor({ room: 's' }));
    a.clear();
    c.clear();
    signaling.disconnect(b, 'server shutting down', false);
    // Once one socket went for the shutdown, every later one is part of it too.
    signaling.disconnect(d, 'transport close', false);
    expect(a.emitted).toEqual([]);
    expect(c.emitted).toEqual([]);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(2);
    expect(signaling.rooms.view('s')?.peers).toHaveLength(2);
  });

  it('forgets a socket whose session moved to another node without releasing its seat (no cluster: nothing else)', () => {
    const { inspector, left } = recordingInspector();
    const signaling = namespace({ inspector });
    const { a, b } = call(signaling);
    a.clear();
    signaling.moved(b);
    expect(signaling.peerIdOf(b.id)).toBeUndefined();
    expect(left).toEqual([b.id]);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(2);
    expect(a.emitted).toEqual([]);
  });

  it('ignores a move of a socket another connection took over', () => {
    const signaling = namespace();
    const { b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.lastToken() }));
    signaling.moved(b);
    expect(signaling.peerIdOf(b2.id)).toBe(b.id);
    signaling.moved(socketFor({ room: 'r' }));
    expect(signaling.peerIdOf(b2.id)).toBe(b.id);
  });

  it('keeps held seats when told the server is stopping, even when they expire', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    signaling.stopping();
    a.clear();
    signaling.expired(b);
    signaling.disconnect(a, 'transport close', false);
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([a.id, b.id]);
  });
});

describe('recovery of a held socket', () => {
  it('gives the seat back without parsing the handshake again, and tells the peer nothing', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    a.clear();
    b.clear();
    b.recovered = true;
    // The handshake is not looked at: the socket's membership is kept.
    (b.handshake as { auth: unknown }).auth = 'no longer valid';
    expect(signaling.connect(b)).toBeUndefined();
    signaling.connected(b);
    expect(b.emitted).toEqual([]);
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: false });
  });

  it('asks a recovered socket to publish again when the inspector is on, and nothing else', () => {
    const { inspector } = recordingInspector();
    const signaling = namespace({ inspector });
    const { b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    b.clear();
    b.recovered = true;
    expect(signaling.connect(b)).toBeUndefined();
    signaling.connected(b);
    expect(b.emitted).toEqual([['inspector', { enabled: true }]]);
  });

  it('takes a recovered socket whose seat is gone as a fresh join', () => {
    const signaling = namespace();
    const b = admit(signaling, socketFor({ room: 'r' }));
    signaling.disconnect(b, 'transport close', true);
    // The seat went meanwhile (its room was left by another path).
    signaling.rooms.leave('r', b.id);
    b.clear();
    b.recovered = true;
    expect(signaling.connect(b)).toBeUndefined();
    signaling.connected(b);
    expect(b.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
  });

  it('takes a recovered socket it does not know as a fresh join', () => {
    const signaling = namespace();
    const stranger = socketFor({ room: 'r' });
    stranger.recovered = true;
    admit(signaling, stranger);
    expect(stranger.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
  });
});

describe('resume tokens', () => {
  /** A call on one process, and its tokens: the process then stops. */
  function tokensOfACall() {
    const before = namespace();
    const { a, b } = call(before);
    return { a: { id: a.id, token: a.lastToken() }, b: { id: b.id, token: b.lastToken() } };
  }

  it('re-forms the room around both peers in their old roles after a restart, with no ready and no peer-left', () => {
    const { a, b } = tokensOfACall();
    const signaling = namespace();
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    expect(b2.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    expect(signaling.peerIdOf(b2.id)).toBe(b.id);
    // Its token still names its partner, whose seat is expected.
    expect(grantOf(b2.lastToken())).toEqual({ peerId: b.id, role: 'polite', partnerId: a.id });
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: true });
    b2.clear();
    const a2 = admit(signaling, socketFor({ room: 'r', resume: a.token }));
    expect(a2.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite', resumed: true }]]);
    expect(b2.emitted).toEqual([]);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: false });
  });

  it('frees the expected seat when its peer does not come back within the window', () => {
    vi.useFakeTimers();
    const { a, b } = tokensOfACall();
    const signaling = namespace({ holdWindowMs: 5_000 });
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    b2.clear();
    vi.advanceTimersByTime(4_999);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'waiting', held: false });
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([b.id]);
    // The peer that stays is told its partner left, with a token that names nobody.
    expect(b2.names()).toEqual(['peer-left', 'resume-token']);
    expect(grantOf(b2.lastToken())).toEqual({ peerId: b.id, role: 'polite', partnerId: undefined });
    // The late peer is now a newcomer, and the one that waited offers.
    const a2 = admit(signaling, socketFor({ room: 'r', resume: a.token }));
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(b2.names()).toContain('ready');
  });

  it('holds the expected seat for the default window, two minutes', () => {
    vi.useFakeTimers();
    const { b } = tokensOfACall();
    const signaling = namespace();
    admit(signaling, socketFor({ room: 'r', resume: b.token }));
    vi.advanceTimersByTime(DEFAULT_HOLD_WINDOW_MS - 1);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(1);
  });

  it('keeps the seat of a peer that came back within the window when the window passes', () => {
    vi.useFakeTimers();
    const { a, b } = tokensOfACall();
    const signaling = namespace({ holdWindowMs: 5_000 });
    admit(signaling, socketFor({ room: 'r', resume: b.token }));
    vi.advanceTimersByTime(2_000);
    const a2 = admit(signaling, socketFor({ room: 'r', resume: a.token }));
    // Its expiry is cancelled, not left to find the seat taken.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: false });
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([b.id, a.id]);
    // And when it leaves later, the one that stays is told.
    signaling.disconnect(a2, 'client namespace disconnect', false);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([b.id]);
  });

  it('does not free a seat whose peer came back and went away again meanwhile (held, not expected)', () => {
    vi.useFakeTimers();
    const { a, b } = tokensOfACall();
    const signaling = namespace({ holdWindowMs: 5_000 });
    admit(signaling, socketFor({ room: 'r', resume: b.token }));
    const a2 = admit(signaling, socketFor({ room: 'r', resume: a.token }));
    signaling.disconnect(a2, 'transport close', true);
    vi.advanceTimersByTime(10_000);
    expect(signaling.rooms.view('r')?.peers.map((p) => [p.id, p.presence])).toEqual([
      [b.id, 'here'],
      [a.id, 'away'],
    ]);
  });

  it('lets the expiry of an expected seat pass quietly when its returner left and the room went', () => {
    vi.useFakeTimers();
    const { b } = tokensOfACall();
    const signaling = namespace({ holdWindowMs: 5_000 });
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    signaling.disconnect(b2, 'client namespace disconnect', false);
    expect(signaling.rooms.view('r')).toBeUndefined();
    const c = admit(signaling, socketFor({ room: 'r' }));
    c.clear();
    vi.advanceTimersByTime(5_000);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([c.id]);
    expect(c.emitted).toEqual([]);
  });

  it('sets one expiry per expected seat, however many times its partner resumes', () => {
    vi.useFakeTimers();
    const { b } = tokensOfACall();
    const signaling = namespace({ holdWindowMs: 5_000 });
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    vi.advanceTimersByTime(3_000);
    // The same peer resumes again (a second tab, a reconnect without recovery): its old socket goes.
    const b3 = admit(signaling, socketFor({ room: 'r', resume: b2.lastToken() }));
    expect(b2.disconnects).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    // The window counts from the first resume.
    vi.advanceTimersByTime(2_000);
    expect(signaling.rooms.view('r')?.peers.map((p) => p.id)).toEqual([b.id]);
    expect(signaling.peerIdOf(b3.id)).toBe(b.id);
  });

  it('takes a token for a seat still held here over from the old connection, which is closed and forgotten', () => {
    const { inspector, left } = recordingInspector();
    const signaling = namespace({ inspector });
    const { a, b } = call(signaling);
    signaling.disconnect(b, 'transport close', true);
    a.clear();
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.lastToken() }));
    expect(b.disconnects).toBe(1);
    expect(left).toEqual([b.id]);
    expect(signaling.peerIdOf(b2.id)).toBe(b.id);
    expect(signaling.peerIdOf(b.id)).toBeUndefined();
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    // Its call did not change: nothing to resync.
    expect(b2.names()).not.toContain('ready');
    expect(b2.names()).not.toContain('peer-left');
    // The old socket's disconnect and expiry, reported after, change nothing; nor does a late connected.
    b.clear();
    signaling.connected(b);
    signaling.disconnect(b, 'server namespace disconnect', false);
    signaling.expired(b);
    expect(b.emitted).toEqual([]);
    expect(a.emitted).toEqual([]);
    expect(signaling.rooms.view('r')).toMatchObject({ state: 'ready', held: false });
    // Data goes to the new connection.
    signaling.event(a, 'data', [{ type: 'offer', sdp: 'v=0' }], undefined, 'offer');
    expect(b2.sentEncoded).toEqual(['offer']);
    expect(b.sentEncoded).toEqual([]);
  });

  it('does not replace a socket that resumes its own seat again', () => {
    const signaling = namespace();
    const { b } = call(signaling);
    const token = b.lastToken();
    // A socket id that is its own identity, resuming with its own token (a CONNECT repeated).
    expect(signaling.connect(new FakeSocket(b.id, { room: 'r', resume: token }))).toBeUndefined();
    expect(b.disconnects).toBe(1);
    expect(signaling.connect(b)).toBeUndefined();
    expect(b.disconnects).toBe(1);
  });

  it('recovers a socket that resumed, and whose seat went, as a resume again, without replacing itself', () => {
    const { b } = tokensOfACall();
    const signaling = namespace();
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    signaling.disconnect(b2, 'transport close', true);
    // Its seat went meanwhile (its room was left by another path); its CONNECT auth still has its token.
    signaling.rooms.leave('r', b.id);
    b2.clear();
    b2.recovered = true;
    admit(signaling, b2);
    expect(b2.disconnects).toBe(0);
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    expect(signaling.peerIdOf(b2.id)).toBe(b.id);
  });

  it('sends a returner whose call is over, seated afresh in a waiting room, no peer-left (its role says it all)', () => {
    const { b } = tokensOfACall();
    const signaling = namespace();
    const c = admit(signaling, socketFor({ room: 'r' }));
    c.clear();
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    expect(b2.names()).toEqual(['role', 'ice-servers', 'resume-token']);
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'polite' }]]);
    expect(c.names()).toEqual(['ready', 'resume-token']);
  });

  it('frees the expected seats of several rooms, each after its own window', () => {
    vi.useFakeTimers();
    const first = tokensOfACall();
    const before = namespace();
    const { b: other } = call(before, 's');
    const signaling = namespace({ holdWindowMs: 5_000 });
    admit(signaling, socketFor({ room: 'r', resume: first.b.token }));
    vi.advanceTimersByTime(1_000);
    admit(signaling, socketFor({ room: 's', resume: other.lastToken() }));
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(4_000);
    expect(signaling.rooms.view('r')?.peers).toHaveLength(1);
    expect(signaling.rooms.view('s')?.peers).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    expect(signaling.rooms.view('s')?.peers).toHaveLength(1);
  });

  it('tells a returner whose partner left meanwhile peer-left', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const token = b.lastToken();
    signaling.disconnect(b, 'transport close', true);
    signaling.disconnect(a, 'client namespace disconnect', false);
    const b2 = admit(signaling, socketFor({ room: 'r', resume: token }));
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'polite', resumed: true }]]);
    expect(b2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'peer-left']);
  });

  it('tells a returner that waited, whose old partner was replaced by a newcomer, peer-left then ready', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const token = a.lastToken();
    signaling.disconnect(a, 'transport close', true);
    signaling.disconnect(b, 'client namespace disconnect', false);
    const c = admit(signaling, socketFor({ room: 'r' }));
    const a2 = admit(signaling, socketFor({ room: 'r', resume: token }));
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite', resumed: true }]]);
    expect(a2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'peer-left', 'ready']);
    expect(grantOf(a2.lastToken())?.partnerId).toBe(c.id);
  });

  it('tells a returner that was alone and waited, now with a partner, ready and no peer-left', () => {
    const signaling = namespace();
    const a = admit(signaling, socketFor({ room: 'r' }));
    const token = a.lastToken();
    signaling.disconnect(a, 'transport close', true);
    admit(signaling, socketFor({ room: 'r' }));
    const a2 = admit(signaling, socketFor({ room: 'r', resume: token }));
    expect(a2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'ready']);
  });

  it('tells a returner that joined second, now with a new partner, peer-left and no ready (the other offers)', () => {
    const signaling = namespace();
    const { a, b } = call(signaling);
    const token = b.lastToken();
    signaling.disconnect(b, 'transport close', true);
    signaling.disconnect(a, 'client namespace disconnect', false);
    // b is alone in the room now, away; a newcomer joins it and b waited, so it is b that offers.
    const c = admit(signaling, socketFor({ room: 'r' }));
    const b2 = admit(signaling, socketFor({ room: 'r', resume: token }));
    expect(b2.names()).toEqual(['role', 'ice-servers', 'resume-token', 'peer-left', 'ready']);
    expect(c.names()).not.toContain('ready');
  });

  it('takes a token that does not verify as a fresh join', () => {
    const { b } = tokensOfACall();
    const signaling = namespace({ resumeSecret: 'another resume secret' });
    const b2 = admit(signaling, socketFor({ room: 'r', resume: b.token }));
    expect(b2.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(signaling.peerIdOf(b2.id)).toBe(b2.id);
  });

  it('takes tokens of the previous process only with the same secret: by default each process has its own', () => {
    const first = new SignalingNamespace({ turn: NO_TURN });
    const a = admit(first, socketFor({ room: 'r' }));
    const second = new SignalingNamespace({ turn: NO_TURN });
    const a2 = admit(second, socketFor({ room: 'r', resume: a.lastToken() }));
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
    expect(second.peerIdOf(a2.id)).toBe(a2.id);
  });

  it('issues tokens that expire after the configured time', () => {
    let now = NOW;
    const first = namespace({ now: () => now, resumeTokenTtlMs: 60_000 });
    const a = admit(first, socketFor({ room: 'r' }));
    now += 61_000;
    const second = namespace({ now: () => now });
    const a2 = admit(second, socketFor({ room: 'r', resume: a.lastToken() }));
    expect(a2.all('role')).toEqual([[{ room: 'r', role: 'impolite' }]]);
  });
});

describe('with the live inspector', () => {
  it('tells each admitted socket to publish, right after its role', () => {
    const { inspector, roomEvents } = recordingInspector();
    const signaling = namespace({ inspector });
    const a = admit(signaling, socketFor({ room: 'r' }));
    expect(a.names()).toEqual(['role', 'inspector', 'ice-servers', 'resume-token']);
    expect(a.all('inspector')).toEqual([[{ enabled: true }]]);
    // The registry's observer is the inspector's.
    expect(roomEvents).toEqual(['opened:r', 'changed:r:room.join']);
  });

  it("takes a member's batch with its display name and the secrets it knows, measured by the packet text", () => {
    const { inspector, batches } = recordingInspector();
    const signaling = namespace({ inspector, turn: TURN });
    const a = admit(signaling, socketFor({ room: 'r', secret: 'room-pw' }));
    const ack = vi.fn();
    signaling.event(a, 'inspect', [['batch']], ack, '2["inspect",["batch"]]');
    expect(ack).toHaveBeenCalledTimes(1);
    const turnServer = (a.all('ice-servers')[0]?.[0] as { iceServers: { username?: string; credential?: string }[] })
      .iceServers[1];
    expect(batches).toEqual([
      {
        peer: {
          socketId: a.id,
          room: roomDisplayName(roomKey('r', 'room-pw')),
          secrets: ['room-pw', turnServer.username, turnServer.credential, a.lastToken()],
        },
        batch: ['batch'],
        chars: '2["inspect",["batch"]]'.length,
      },
    ]);
    expect(a.all('error')).toEqual([]);
  });

  it('measures a batch without packet text by its JSON, and a missing batch as null', () => {
    const { inspector, batches } = recordingInspector();
    const signaling = namespace({ inspector });
    const a = admit(signaling, socketFor({ room: 'r' }));
    signaling.event(a, 'inspect', [{ k: 'v' }], undefined, undefined);
    signaling.event(a, 'inspect', [], undefined, undefined);
    expect(batches.map(({ chars }) => chars)).toEqual(['{"k":"v"}'.length, 'null'.length]);
    // No secret, no TURN: only its tokens are secret.
    expect(batches[0]?.peer.secrets).toEqual([a.lastToken()]);
  });

  it('sends back the refusal the inspector gives, still acknowledging the batch', () => {
    const refusal = SignalingError.inspectRefused('too large');
    const { inspector } = recordingInspector(refusal);
    const signaling = namespace({ inspector });
    const a = admit(signaling, socketFor({ room: 'r' }));
    a.clear();
    const ack = vi.fn();
    signaling.event(a, 'inspect', [[]], ack, undefined);
    expect(a.emitted).toEqual([['error', refusal.toPayload()]]);
    expect(ack).toHaveBeenCalledTimes(1);
  });

  it('refuses the batch of a socket that is no peer of a room', () => {
    const { inspector, batches } = recordingInspector();
    const signaling = namespace({ inspector });
    const stranger = socketFor({ room: 'r' });
    signaling.event(stranger, 'inspect', [[]], undefined, undefined);
    expect(stranger.all('error')).toEqual([
      [SignalingError.inspectRefused('this socket is not a peer of a room').toPayload()],
    ]);
    const a = admit(signaling, socketFor({ room: 'r' }));
    signaling.disconnect(a, 'client namespace disconnect', false);
    a.clear();
    signaling.event(a, 'inspect', [[]], undefined, undefined);
    expect(a.all('error')).toEqual([[expect.objectContaining({ code: 'inspect-refused' })]]);
    expect(batches).toEqual([]);
  });

  it('keeps no secrets of a peer when the inspector is off', () => {
    const signaling = namespace({ turn: TURN });
    const a = admit(signaling, socketFor({ room: 'r', secret: 'room-pw' }));
    expect((a.data as { secrets?: unknown }).secrets).toBeUndefined();
  });
});
