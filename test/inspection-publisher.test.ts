import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createPeerAdapter } from '../src/client/peer-adapter.js';
import type { InspectionPublisherOptions } from '../src/client/inspection-publisher.js';
import type { InspectionEvent } from '../src/protocol/inspection-events.js';
import { parseInspectBatch, INSPECT_LIMITS } from '../src/protocol/inspection-events.js';
import { flush } from './helpers/fake-peer-effects.js';
import { createFakeRtc } from './helpers/fake-peer-connection.js';
import { fakeSocketFactory, type FakeSocket } from './helpers/fake-signaling.js';

/** Timers the test runs by hand: `run()` fires whatever is due. */
function manualTimers() {
  const pending = new Set<() => void>();
  return {
    timers: {
      setTimeout: (callback: () => void) => {
        pending.add(callback);
        return callback;
      },
      clearTimeout: (handle: unknown) => pending.delete(handle as () => void),
    },
    run: () => {
      for (const callback of [...pending]) {
        pending.delete(callback);
        callback();
      }
    },
  };
}

const SDP = 'v=0\r\no=- 1 2 IN IP4 192.0.2.7\r\na=ice-pwd:supersecretpassword\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

/** An adapter on fakes with inspection on (or not), and the batches it emitted. */
function setup(inspect: boolean | InspectionPublisherOptions = true) {
  const rtc = createFakeRtc();
  const sockets = fakeSocketFactory();
  const { timers, run } = manualTimers();
  const adapter = createPeerAdapter({
    room: 'kitchen',
    connectSocket: sockets.connect,
    RTCPeerConnection: rtc.RTCPeerConnection,
    clock: new SimulatedClock(),
    inspect: inspect === true ? { batching: { timers } } : inspect,
  });
  const socket = (): FakeSocket => sockets.sockets.at(-1)!;
  const batches = () =>
    socket()
      .emitted.filter((e) => e.event === 'inspect')
      .map((e) => e.args[0] as InspectionEvent[]);
  const events = () => batches().flat();
  return { adapter, sockets, socket, batches, events, run, rtc };
}

/** Joined as the waiting peer (role and ICE servers received). */
async function joined(inspect: boolean | InspectionPublisherOptions = true) {
  const t = setup(inspect);
  t.adapter.join();
  t.socket().deliver('connect');
  t.socket().deliver('role', { room: 'kitchen', role: 'impolite' });
  t.socket().deliver('ice-servers', {
    iceServers: [{ urls: 'turn:turn.example.org', username: '1700000000:abc', credential: 'hmac-credential' }],
    ttl: 60,
  });
  await flush();
  return t;
}

describe('inspection publishing from the browser', () => {
  it('sends nothing until the server says inspector, then announces both machines with their current state', async () => {
    const t = await joined();
    t.run();
    expect(t.batches()).toEqual([]);

    t.socket().deliver('inspector', { enabled: true });
    t.run();
    const [first] = t.batches();
    expect(first?.map((e) => [e.type, e.sessionId, e.parley?.kind])).toEqual([
      ['@xstate.actor', 'signaling', 'signaling'],
      ['@xstate.actor', 'peer', 'peer'],
    ]);
    const [link, peer] = first as [
      InspectionEvent & { type: '@xstate.actor' },
      InspectionEvent & { type: '@xstate.actor' },
    ];
    expect(link.name).toBe('signalingLink');
    expect(link.snapshot.value).toBe('connected');
    expect(peer.name).toBe('peer');
    expect(peer.snapshot).toMatchObject({ status: 'active', value: { session: 'waiting' } });
    expect(JSON.parse(peer.definition!)).toMatchObject({ id: 'peer', initial: 'idle' });
    // What the server checks of a batch.
    expect(() => parseInspectBatch(first)).not.toThrow();
  });

  it('streams the peer machine’s events and snapshots, SDPs summarized and TURN credentials redacted', async () => {
    const t = await joined();
    t.socket().deliver('inspector', { enabled: true });
    t.run();
    t.socket().deliver('ice-servers', {
      iceServers: [{ urls: 'turn:turn.example.org', username: '1700000060:abc', credential: 'fresh-credential' }],
      ttl: 60,
    });
    t.socket().deliver('data', { type: 'offer', sdp: SDP });
    t.socket().deliver('data', {
      type: 'candidate',
      candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    });
    await flush();
    await flush();
    t.run();
    t.run();
    const events = t.events();
    const text = JSON.stringify(events);
    expect(text).not.toContain('fresh-credential');
    expect(text).not.toContain('hmac-credential');
    expect(text).not.toContain('supersecretpassword');
    expect(text).not.toContain('192.0.2.7');

    const offer = events.find((e) => e.type === '@xstate.event' && e.event.type === 'signal.offer');
    expect(offer).toMatchObject({ sessionId: 'peer', event: { sdp: `[SDP, ${SDP.length} chars: audio]` } });
    const candidate = events.find((e) => e.type === '@xstate.event' && e.event.type === 'signal.candidate');
    expect(candidate).toMatchObject({ event: { candidate: { candidate: '[candidate udp host]', sdpMid: '0' } } });
    const iceServers = events.find((e) => e.type === '@xstate.snapshot' && e.event.type === 'signal.iceServers');
    expect(iceServers).toMatchObject({
      snapshot: { context: { iceServers: [{ username: '1700000060:abc', credential: '[redacted]' }] } },
    });
    // The offer took the machine into the call; the answer it made went out summarized too.
    const last = events.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === 'peer').at(-1);
    expect(last).toMatchObject({ snapshot: { value: { session: { call: expect.any(Object) } } } });
    // Only the two root actors: the invoked promise actors show through their done events.
    expect(new Set(events.map((e) => e.sessionId))).toEqual(new Set(['peer', 'signaling']));
    expect(events.some((e) => e.type === '@xstate.event' && e.event.type.startsWith('xstate.done.actor.'))).toBe(true);
  });

  it('keeps batches within the server’s limits: at most 100 events and 64 KiB each, one per interval', async () => {
    const t = await joined();
    t.socket().deliver('inspector', { enabled: true });
    for (let i = 0; i < 120; i++)
      t.socket().deliver('ice-servers', { iceServers: [{ urls: `stun:s${i}.example.org` }], ttl: 60 });
    t.run();
    expect(t.batches()).toHaveLength(1);
    t.run();
    t.run();
    t.run();
    const batches = t.batches();
    expect(batches.length).toBeGreaterThanOrEqual(3);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(INSPECT_LIMITS.maxBatchEvents);
      expect(JSON.stringify(batch).length).toBeLessThanOrEqual(INSPECT_LIMITS.maxBatchChars);
      expect(() => parseInspectBatch(batch)).not.toThrow();
    }
    // 2 announcements, then an event and a snapshot for each of the 120 deliveries.
    expect(t.events()).toHaveLength(2 + 240);
  });

  it('follows the signaling link: reconnecting on a transport drop, announced afresh when the server asks again', async () => {
    const t = await joined();
    t.socket().deliver('inspector', { enabled: true });
    t.run();
    const before = t.events().length;

    t.socket().connected = false;
    t.socket().deliver('disconnect', 'transport close');
    t.adapter.setMicEnabled(false); // no machine event: nothing to publish
    t.run();
    expect(t.events()).toHaveLength(before);

    t.socket().connected = true;
    t.socket().deliver('connect');
    t.socket().deliver('role', { room: 'kitchen', role: 'impolite' });
    await flush();
    t.run();
    expect(t.events()).toHaveLength(before); // not until the server asks
    t.socket().deliver('inspector', { enabled: true });
    t.run();
    const announced = t.events().slice(before);
    expect(announced.map((e) => [e.type, e.sessionId])).toEqual([
      ['@xstate.actor', 'signaling'],
      ['@xstate.actor', 'peer'],
    ]);
    expect(announced[0]).toMatchObject({ snapshot: { value: 'connected', context: { reason: 'transport close' } } });
  });

  it('sends what is queued before leaving on hang-up, then nothing over a new socket until asked', async () => {
    const t = await joined();
    t.socket().deliver('inspector', { enabled: true });
    t.run();
    const old = t.socket();
    t.adapter.hangUp();
    const emitted = old.emitted.map((e) => e.event);
    expect(emitted.lastIndexOf('inspect')).toBeLessThan(emitted.indexOf('leave'));
    t.adapter.join();
    // After a hang-up, join waits for the released camera and microphone to start again.
    await flush();
    expect(t.socket()).not.toBe(old);
    t.socket().deliver('connect');
    t.run();
    expect(t.socket().emitted.filter((e) => e.event === 'inspect')).toEqual([]);
  });

  it('does not publish without the opt-in, even when the server asks', async () => {
    const t = await joined(false);
    t.socket().deliver('inspector', { enabled: true });
    t.socket().deliver('ready');
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(t.socket().emitted.map((e) => e.event)).not.toContain('inspect');
  });

  it('stops publishing when the server refuses a batch, and keeps that refusal out of the call', async () => {
    const t = await joined();
    t.socket().deliver('inspector', { enabled: true });
    t.run();
    const before = t.events().length;
    t.socket().deliver('error', { code: 'inspect-refused', message: 'Inspection events refused: too large.' });
    t.socket().deliver('ready');
    await flush();
    t.run();
    expect(t.events()).toHaveLength(before);
    expect(t.adapter.getState().error).toBeUndefined();
  });
});
