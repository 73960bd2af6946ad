import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createPeerAdapter } from '../src/client/peer-adapter.js';
import { PEER_TIMING } from '../src/machines/peer-machine.js';
import type { CallStatus } from '../src/machines/peer-status.js';
import { flush } from './helpers/fake-peer-effects.js';
import { fakeMediaDevices, fakeStream, fakeTrack } from './helpers/fake-media.js';
import { createFakeRtc } from './helpers/fake-peer-connection.js';
import { fakeSocketFactory } from './helpers/fake-signaling.js';
import { CHROMIUM_OFFER } from './helpers/sdp.js';
import { withStartBitrate } from '../src/client/start-bitrate.js';

/** An adapter on fakes whose asynchronous steps all complete at once. */
function setup(
  options: { iceTransportPolicy?: RTCIceTransportPolicy; secret?: string; startBitrateKbps?: number | false } = {},
) {
  const rtc = createFakeRtc();
  const sockets = fakeSocketFactory();
  const clock = new SimulatedClock();
  const warnings: string[] = [];
  const tracks = [fakeTrack('audio'), fakeTrack('video')];
  const devices = fakeMediaDevices();
  const adapter = createPeerAdapter({
    room: 'kitchen',
    connectSocket: sockets.connect,
    RTCPeerConnection: rtc.RTCPeerConnection,
    localStream: fakeStream(tracks),
    mediaDevices: devices.mediaDevices,
    clock,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  const socket = () => sockets.sockets.at(-1)!;
  const pc = () => rtc.connections.at(-1)!;
  return { rtc, sockets, clock, warnings, tracks, adapter, socket, pc };
}

/** Joins as the waiting peer, offers on ready and gets an answer: connected. */
async function connected(options: { iceTransportPolicy?: RTCIceTransportPolicy } = {}) {
  const t = setup(options);
  t.adapter.join();
  t.socket().deliver('role', { room: 'kitchen', role: 'impolite' });
  t.socket().deliver('ice-servers', { iceServers: [{ urls: 'stun:stun.example.org' }], ttl: 60 });
  await flush();
  t.socket().deliver('ready');
  await flush();
  t.socket().deliver('data', { type: 'answer', sdp: 'their answer' });
  await flush();
  await flush();
  return t;
}

describe('peer adapter', () => {
  it('does nothing on the network until join, then opens the socket with the room in the handshake auth', () => {
    const { adapter, sockets } = setup();
    expect(sockets.sockets).toHaveLength(0);
    adapter.join();
    expect(sockets.sockets[0].auth).toEqual({ room: 'kitchen' });
    expect(adapter.getState().status).toBe('joining');
  });

  it("puts the room's secret in the handshake auth too, on every join", () => {
    const { adapter, sockets } = setup({ secret: 'open sesame' });
    adapter.join();
    adapter.rejoin();
    expect(sockets.sockets.map((socket) => socket.auth)).toEqual([
      { room: 'kitchen', secret: 'open sesame' },
      { room: 'kitchen', secret: 'open sesame' },
    ]);
  });

  it('creates the peer connection on the role event with local tracks, and the chat channel with its first offer', async () => {
    const { adapter, socket, pc, tracks } = setup();
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(pc().tracks).toEqual(tracks);
    // No channel before a description can carry it: it would need a renegotiation of its own.
    expect(pc().channels).toEqual([]);
    expect(adapter.getState()).toMatchObject({ status: 'waiting', role: 'polite', room: 'kitchen' });
    socket().deliver('ready');
    await flush();
    expect(pc().channels.map((c) => [c.label, c.init])).toEqual([
      ['chat', { negotiated: true, id: 0 }],
      ['media', { negotiated: true, id: 1 }],
    ]);
  });

  it('applies ice-servers from the server with setConfiguration, keeping the relay policy', () => {
    const { adapter, socket, pc } = setup({ iceTransportPolicy: 'relay' });
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(pc().configuration).toEqual({ iceServers: [], iceTransportPolicy: 'relay', bundlePolicy: 'max-bundle' });
    const turn = { urls: ['turn:turn.example.org:3478?transport=udp'], username: '1700000000:u', credential: 'secret' };
    socket().deliver('ice-servers', { iceServers: [turn], ttl: 86_400 });
    expect(pc().configuration).toEqual({ iceServers: [turn], iceTransportPolicy: 'relay', bundlePolicy: 'max-bundle' });
    // The server's refresh before the credentials expire, in the middle of a call.
    socket().deliver('ready');
    const fresh = { ...turn, username: '1700086400:u', credential: 'fresher' };
    socket().deliver('ice-servers', { iceServers: [fresh], ttl: 86_400 });
    expect(pc().configuration).toEqual({
      iceServers: [fresh],
      iceTransportPolicy: 'relay',
      bundlePolicy: 'max-bundle',
    });
  });

  it('creates the peer connection with ice servers that arrived before the role', () => {
    const { adapter, socket, pc } = setup();
    adapter.join();
    socket().deliver('ice-servers', { iceServers: [{ urls: 'stun:stun.example.org' }], ttl: 60 });
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(pc().configuration).toEqual({
      iceServers: [{ urls: 'stun:stun.example.org' }],
      iceTransportPolicy: 'all',
      bundlePolicy: 'max-bundle',
    });
  });

  it('offers on ready, trickles local candidates, and reports connected to subscribers', async () => {
    const { adapter, socket, pc } = setup();
    const states: CallStatus['status'][] = [];
    // Subscribers hear every change of the call state; keep the status changes.
    adapter.subscribe((state) => {
      if (states.at(-1) !== state.status) states.push(state.status);
    });
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'impolite' });
    await flush();
    socket().deliver('ready');
    await flush();
    const sent = socket().sentSignals();
    expect(sent[0]).toEqual({ type: 'offer', sdp: pc().localDescription?.sdp });
    expect(sent.slice(1).map((s) => s.type)).toEqual(['candidate', 'candidate', 'candidate']);
    expect(sent.at(-1)).toEqual({ type: 'candidate', candidate: null });
    socket().deliver('data', { type: 'answer', sdp: 'their answer' });
    await flush();
    await flush();
    expect(pc().connectionState).toBe('connected');
    expect(states).toEqual(['idle', 'joining', 'waiting', 'connecting', 'connected']);
  });

  it("asks the other side to start its video at 1000 kbps in the offer it sends, and applies the browser's own offer", async () => {
    const { adapter, socket, pc } = setup();
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'impolite' });
    Object.assign(pc(), { offerSdp: () => CHROMIUM_OFFER });
    socket().deliver('ready');
    await flush();
    const [offer] = socket().sentSignals();
    expect(offer).toEqual({ type: 'offer', sdp: withStartBitrate(CHROMIUM_OFFER, 1000) });
    expect(offer).not.toEqual({ type: 'offer', sdp: CHROMIUM_OFFER });
    expect(pc().localDescription).toEqual({ type: 'offer', sdp: CHROMIUM_OFFER });
  });

  it('asks for the start bitrate it is given in its answer, or for none when told not to', async () => {
    for (const startBitrateKbps of [2500, false] as const) {
      const { adapter, socket, pc } = setup({ startBitrateKbps });
      adapter.join();
      socket().deliver('role', { room: 'kitchen', role: 'polite' });
      Object.assign(pc(), { answerSdp: () => CHROMIUM_OFFER.replace('a=setup:actpass', 'a=setup:active') });
      socket().deliver('data', { type: 'offer', sdp: 'their offer' });
      await flush();
      await flush();
      const answer = socket()
        .sentSignals()
        .find((signal) => signal.type === 'answer');
      const browsers = CHROMIUM_OFFER.replace('a=setup:actpass', 'a=setup:active');
      expect(answer).toEqual({
        type: 'answer',
        sdp: startBitrateKbps === false ? browsers : withStartBitrate(browsers, startBitrateKbps),
      });
      expect(pc().localDescription).toEqual({ type: 'answer', sdp: browsers });
    }
  });

  it('refuses a start bitrate that is not a positive whole number of kbps when it is made', () => {
    for (const startBitrateKbps of [0, -1, 2.5]) expect(() => setup({ startBitrateKbps })).toThrow(RangeError);
  });

  it('sends and receives chat over the data channel once it is open', async () => {
    const { adapter, pc } = await connected();
    const received: string[] = [];
    adapter.onChat((text) => received.push(text));
    expect(adapter.sendChat('hello')).toBe(true);
    expect(pc().channels[0].sent).toEqual(['hello']);
    pc().channels[0].receive('hi there');
    expect(received).toEqual(['hi there']);
  });

  it('refuses to send chat before the channel is open', () => {
    const { adapter, socket } = setup();
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(adapter.sendChat('too early')).toBe(false);
  });

  it('mutes the microphone and turns the camera off without renegotiating', async () => {
    const { adapter, tracks, pc } = await connected();
    const offersBefore = pc().calls.filter((c) => c.method === 'setLocalDescription').length;
    adapter.setMicEnabled(false);
    adapter.setCameraEnabled(false);
    expect(tracks.map((t) => t.enabled)).toEqual([false, false]);
    adapter.setMicEnabled(true);
    expect(tracks.map((t) => t.enabled)).toEqual([true, false]);
    await flush();
    expect(pc().calls.filter((c) => c.method === 'setLocalDescription')).toHaveLength(offersBefore);
  });

  it('hangs up: emits leave, disconnects the socket and closes the peer connection', async () => {
    const { adapter, socket, pc } = await connected();
    adapter.hangUp();
    expect(socket().emitted.at(-1)).toEqual({ event: 'leave', args: [] });
    expect(socket().connected).toBe(false);
    expect(socket().listenerCount('data')).toBe(0);
    expect(pc().closed).toBe(true);
    expect(adapter.getState().status).toBe('closed');
  });

  it('rejoins with a fresh socket and a fresh peer connection', async () => {
    const { adapter, sockets, rtc, socket } = await connected();
    adapter.hangUp();
    adapter.rejoin();
    await flush(); // the camera and microphone, released by the hang-up, are started again first
    expect(sockets.sockets).toHaveLength(2);
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    expect(rtc.connections).toHaveLength(2);
    expect(adapter.getState().status).toBe('waiting');
  });

  it('shows a full room as rejected with the server reason', () => {
    const { adapter, socket } = setup();
    adapter.join();
    socket().deliver(
      'connect_error',
      Object.assign(new Error('refused'), { data: { code: 'room-full', message: 'Room "kitchen" is full' } }),
    );
    expect(adapter.getState()).toMatchObject({ status: 'rejected', error: { code: 'room-full' } });
  });

  it('joins again after a refusal with a new socket, dropping the refused one', async () => {
    const { adapter, sockets, socket } = setup();
    adapter.join();
    socket().deliver(
      'connect_error',
      Object.assign(new Error('refused'), { data: { code: 'room-full', message: 'full' } }),
    );
    adapter.join();
    await flush(); // the camera and microphone, released by the refusal, are started again first
    expect(sockets.sockets).toHaveLength(2);
    expect(sockets.sockets[0].connected).toBe(false);
    expect(sockets.sockets[0].listenerCount('data')).toBe(0);
    expect(adapter.getState()).toMatchObject({ status: 'joining', error: undefined });
  });

  it('ignores transport-level connect errors: socket.io-client retries them', () => {
    const { adapter, socket } = setup();
    adapter.join();
    socket().deliver('connect_error', new Error('xhr poll error'));
    expect(adapter.getState().status).toBe('joining');
  });

  it('drops signaling payloads that break the contract and warns', async () => {
    const { adapter, socket, warnings } = setup();
    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'rude' });
    socket().deliver('role', { room: 'kitchen', role: 'polite' });
    socket().deliver('data', { type: 'offer' });
    socket().deliver('data', { type: 'candidate', candidate: 42 });
    await flush();
    expect(warnings).toHaveLength(3);
    expect(adapter.getState().status).toBe('waiting');
  });

  it('resets to a fresh peer connection when the peer leaves, ignoring the old one', async () => {
    const { adapter, socket, rtc } = await connected();
    const old = rtc.connections[0];
    socket().deliver('peer-left');
    expect(old.closed).toBe(true);
    expect(rtc.connections).toHaveLength(2);
    old.setConnectionState('failed'); // late event from the closed connection
    expect(adapter.getState().status).toBe('waiting');
  });

  it('restarts ICE through the peer connection after a failure, with an ice-restart offer', async () => {
    const { adapter, socket, pc, clock } = await connected();
    pc().setConnectionState('failed');
    expect(adapter.getState().status).toBe('reconnecting');
    clock.increment(PEER_TIMING.restartBaseDelay);
    await flush();
    expect(pc().restartIceCalls).toBe(1);
    expect(
      pc().calls.some((c) => c.method === 'createOffer' && (c.args[0] as RTCOfferOptions).iceRestart === true),
    ).toBe(true);
    expect(
      socket()
        .sentSignals()
        .filter((s) => s.type === 'offer')
        .at(-1)?.type,
    ).toBe('offer');
    expect(pc().signalingState).toBe('have-local-offer');
  });
});
