/**
 * One side of a call for the peer model's drivers, runnable in Node and, bundled, in Chromium:
 * the real browser adapter (src/client/peer-adapter.ts) with its real signaling factory, the
 * fake RTCPeerConnection (test/helpers/fake-peer-connection.ts) and a SimulatedClock. It makes
 * the model's local events happen (the user's, the peer connection's, the clock's) and reports
 * what the adapter and its peer connections did; the other peer is the driver's business.
 *
 * The fake's own `negotiationneeded` and its connection coming up by itself are switched off:
 * the model says when the peer connection needs negotiating or changes its connection state.
 */
import { SimulatedClock } from 'xstate';
import { createPeerAdapter, type PeerAdapter } from '../../src/client/peer-adapter.js';
import { connectSignaling, type SignalingSocket } from '../../src/client/signaling-client.js';
import type { PeerExpectation, PeerModelEvent } from '../../src/testing/index.js';
import { fakeMediaDevices, fakeStream, fakeTrack } from '../helpers/fake-media.js';
import { createFakeRtc, type FakePeerConnection } from '../helpers/fake-peer-connection.js';

/** The STUN server the test server hands out: every peer connection must end up with it. */
export const MODEL_STUN_URL = 'stun:stun.model.test:3478';

/** What the harness itself can report: everything but what the other peer received. */
export type LocalObservation = Omit<PeerExpectation, 'offers' | 'answers' | 'remoteReady' | 'remotePeerLeft'>;

/** One side of a call under the model's control. */
export interface PeerAdapterHarness {
  readonly adapter: PeerAdapter;
  /** Makes a `user.*`, `pc.*` or `clock.*` model event happen. */
  perform(event: PeerModelEvent): void;
  /** The peer connection refuses the next remote description (for `remote.badAnswer`). */
  refuseNextRemoteDescription(): void;
  /** `data` messages our signaling sockets received so far. */
  dataReceived(): number;
  observe(): LocalObservation;
  dispose(): void;
}

const NEVER = new Promise<void>(() => {});

/** Creates the harness for room `room` of the Parley at `url`; nothing happens until `user.join`. */
export function createPeerAdapterHarness(url: string, room: string): PeerAdapterHarness {
  let refuseNext = false;
  const rtc = createFakeRtc((label) => {
    if (label.endsWith('.connect') || label.endsWith('.negotiationneeded')) return NEVER;
    if (label.endsWith('.setRemoteDescription') && refuseNext) {
      refuseNext = false;
      return Promise.reject(new Error('InvalidAccessError: the test refused this description'));
    }
    return Promise.resolve();
  });
  const clock = new SimulatedClock();
  const warnings: string[] = [];
  const sockets: SignalingSocket[] = [];
  let dataReceived = 0;
  const connect = connectSignaling(url);
  const adapter = createPeerAdapter({
    room,
    connectSocket: (auth) => {
      const socket = connect(auth);
      socket.onAny((event: string) => {
        if (event === 'data') dataReceived += 1;
      });
      sockets.push(socket);
      return socket;
    },
    RTCPeerConnection: rtc.RTCPeerConnection,
    localStream: fakeStream([fakeTrack('audio'), fakeTrack('video')]),
    mediaDevices: fakeMediaDevices().mediaDevices,
    clock,
    onWarning: (message) => warnings.push(message),
  });
  const pc = (): FakePeerConnection => rtc.connections.at(-1)!;
  const sum = (count: (connection: FakePeerConnection) => number) =>
    rtc.connections.reduce((total, connection) => total + count(connection), 0);

  return {
    adapter,
    perform(event) {
      switch (event.type) {
        case 'user.join':
          return adapter.join();
        case 'user.rejoin':
          return adapter.rejoin();
        case 'user.joinAndRejoin':
          // In one go: nothing from the server can arrive between the two.
          adapter.join();
          return adapter.rejoin();
        case 'user.hangUp':
          return adapter.hangUp();
        case 'pc.negotiationNeeded':
          return pc().onnegotiationneeded?.();
        case 'pc.connected':
          return pc().setConnectionState('connected');
        case 'pc.disconnected':
          return pc().setConnectionState('disconnected');
        case 'pc.failed':
          return pc().setConnectionState('failed');
        case 'clock.connectTimeout':
        case 'clock.disconnectGrace':
        case 'clock.restartBackoff':
        case 'clock.restartTimeout':
          return clock.increment(event.ms);
        default:
          throw new Error(`the harness cannot make ${event.type} happen: it is the other peer's`);
      }
    },
    refuseNextRemoteDescription() {
      refuseNext = true;
    },
    dataReceived: () => dataReceived,
    observe() {
      if (rtc.violations.length > 0) throw new Error(`the fake peer connection saw: ${rtc.violations.join('; ')}`);
      const call = adapter.getSnapshot();
      const current = rtc.connections.at(-1);
      const iceServers = current?.getConfiguration().iceServers ?? [];
      return {
        status: call.status as PeerExpectation['status'],
        negotiating: call.negotiating,
        role: call.role,
        restartAttempts: call.restartAttempts,
        signalingState: current === undefined ? 'none' : (current.signalingState as PeerExpectation['signalingState']),
        iceServersFromServer: iceServers.some((server) => [server.urls].flat().includes(MODEL_STUN_URL)),
        sockets: sockets.length,
        peerConnections: rtc.connections.length,
        iceRestartOffers: sum(
          (connection) =>
            connection.calls.filter(
              (call) => call.method === 'createOffer' && (call.args[0] as RTCOfferOptions).iceRestart === true,
            ).length,
        ),
        rollbacks: sum((connection) => connection.rollbacks),
        candidatesApplied: sum((connection) => connection.appliedCandidates.length),
        iceRestarts: sum((connection) => connection.restartIceCalls),
        failures: warnings.length,
      };
    },
    dispose() {
      adapter.dispose();
    },
  };
}
