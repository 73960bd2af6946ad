// @vitest-environment happy-dom
/**
 * The call screen (src/call.tsx) against Parley's reference model of a call, with `parley/testing`
 * as Parley's own tests use it on the adapter: the model's paths, each replayed by the runner
 * against a driver that makes every step happen to this screen and reads the status it shows.
 *
 * It runs in Node, no browser: happy-dom for the DOM, and Parley's fakes for what only a browser
 * has: an RTCPeerConnection whose connection state the model sets, fake camera and microphone,
 * and a simulated clock for the call's timers. The signaling is real: a Parley server on
 * loopback, and a second signaling client as the other peer, whose messages the model scripts.
 */
import { createRoot } from 'react-dom/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectSignaling, createPeerAdapter, type ClientToServerEvents, type SignalingSocket } from 'parley/client';
import { startParleyServer, type RunningParleyServer } from 'parley/server';
import {
  createFakeRtc,
  fakeMediaDevices,
  fakeStream,
  fakeTrack,
  peerModelPaths,
  runPeerModelPath,
  SimulatedClock,
  type ModelPath,
  type PeerModelDriver,
  type PeerModelEvent,
  type PeerModelEventType,
} from 'parley/testing';
import { Call } from '../src/call';

/**
 * What this screen's world can make happen. No rejoin: the screen has no control for it. No
 * `pc.negotiationNeeded` nor `remote.badAnswer`: they are the adapter's business, which Parley's
 * own tests cover, and change nothing the screen shows.
 */
const EVENTS: PeerModelEventType[] = [
  'user.join',
  'user.hangUp',
  'remote.join',
  'remote.leave',
  'remote.offer',
  'remote.answer',
  'remote.candidate',
  'pc.connected',
  'pc.disconnected',
  'pc.failed',
  'clock.connectTimeout',
  'clock.disconnectGrace',
  'clock.restartBackoff',
  'clock.restartTimeout',
];

type Signal = Parameters<ClientToServerEvents['data']>[0];

const NEVER = new Promise<void>(() => {});

let server: RunningParleyServer;
beforeAll(async () => {
  server = await startParleyServer({
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    staticDir: undefined,
    turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3600, stunUrls: [] },
    // Each path opens new signaling connections from this one address, faster than people do.
    engine: { handshakeRate: 10_000, handshakeBurst: 10_000 },
  });
});
afterAll(() => server?.close());

/** The call screen in room `room`, as the model drives it; `dispose` unmounts it and hangs up. */
function callScreenDriver(room: string): PeerModelDriver & { dispose(): void } {
  // The model says when the peer connection is connected or needs negotiating: the fake never
  // does either by itself.
  const rtc = createFakeRtc((step) =>
    step.endsWith('.connect') || step.endsWith('.negotiationneeded') ? NEVER : Promise.resolve(),
  );
  const clock = new SimulatedClock();
  const connect = connectSignaling(server.url);
  let signalsReceived = 0;
  const call = createPeerAdapter({
    room,
    connectSocket: (auth) => {
      const socket = connect(auth);
      socket.onAny((event: string) => {
        if (event === 'data') signalsReceived += 1;
      });
      return socket;
    },
    RTCPeerConnection: rtc.RTCPeerConnection,
    localStream: fakeStream([fakeTrack('audio'), fakeTrack('video')]),
    mediaDevices: fakeMediaDevices().mediaDevices,
    clock,
    onWarning: () => {},
  });
  const container = document.createElement('div');
  document.body.append(container);
  const screen = createRoot(container);
  screen.render(<Call call={call} localStream={undefined} />);

  const others: SignalingSocket[] = [];
  const other = () => others.at(-1)!;
  let sent = 0;
  /** The other peer sends `signal`; resolves once this side has it, so that steps stay in order. */
  const otherSends = async (signal: Signal) => {
    const before = signalsReceived;
    other().emit('data', signal);
    await expect.poll(() => signalsReceived, { timeout: 5_000, interval: 1 }).toBeGreaterThan(before);
  };
  const peerConnection = () => rtc.connections.at(-1)!;

  return {
    async perform(event: PeerModelEvent) {
      sent += 1;
      switch (event.type) {
        case 'user.join':
          // src/main.tsx joins on load: the screen has no control for it.
          return call.join();
        case 'user.hangUp':
          return container.querySelector<HTMLButtonElement>('[data-testid="hang-up"]')!.click();
        case 'remote.join': {
          const socket = connectSignaling(server.url)({ room });
          others.push(socket);
          return new Promise<void>((resolve, reject) => {
            socket.once('connect', () => resolve());
            socket.once('connect_error', reject);
          });
        }
        case 'remote.leave':
          other().disconnect();
          return;
        case 'remote.offer':
          return otherSends({ type: 'offer', sdp: `offer ${sent}` });
        case 'remote.answer':
          return otherSends({ type: 'answer', sdp: `answer ${sent}` });
        case 'remote.candidate':
          return otherSends({
            type: 'candidate',
            candidate: { candidate: `candidate:${sent} 1 udp 1 198.51.100.1 ${9000 + sent} typ host`, sdpMid: '0' },
          });
        case 'pc.connected':
        case 'pc.disconnected':
        case 'pc.failed':
          return peerConnection().setConnectionState(event.type.slice('pc.'.length) as RTCPeerConnectionState);
        case 'clock.connectTimeout':
        case 'clock.disconnectGrace':
        case 'clock.restartBackoff':
        case 'clock.restartTimeout':
          return clock.increment(event.ms);
        default:
          throw new Error(`this driver cannot make ${event.type} happen`);
      }
    },
    observe() {
      // The fake records what a browser would refuse (a candidate before any remote description).
      if (rtc.violations.length > 0) throw new Error(rtc.violations.join('; '));
      // What the user sees, nothing else.
      const status = container.querySelector('[data-testid="call-state"]')?.getAttribute('data-status');
      return { status: (status ?? undefined) as never };
    },
    dispose() {
      screen.unmount();
      container.remove();
      call.dispose();
      for (const socket of others) socket.disconnect();
    },
  };
}

/** Every path of the model that keeps to {@link EVENTS}: some 340, a few seconds in all. */
const paths: ModelPath<PeerModelEvent>[] = peerModelPaths({ events: EVENTS });

it('has paths through every event this screen can make happen, second calls included', () => {
  const types = new Set(paths.flatMap((path) => path.events.map((event) => event.type)));
  expect([...types].sort()).toEqual([...EVENTS].sort());
  expect(paths.some((path) => path.events.filter((event) => event.type === 'user.join').length > 1)).toBe(true);
});

it.each(paths.map((path, index) => [path.name, index, path] as const))(
  'shows what the model expects along %s',
  async (_name, index, path) => {
    const driver = callScreenDriver(`model-${index}`);
    try {
      await runPeerModelPath(path, driver);
    } finally {
      driver.dispose();
    }
  },
  30_000,
);
