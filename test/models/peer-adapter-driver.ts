/**
 * A driver of the peer reference model (src/testing) for the browser adapter: one side of the
 * call is a {@link PeerSide} (test/models/peer-adapter-harness.ts, in this process or in a
 * Chromium page), the other peer a real socket.io-client in this process whose messages the
 * model scripts, both on a real Parley server. It reports what each side did.
 */
import type { PeerExpectation, PeerModelDriver, PeerModelEvent } from '../../src/testing/index.js';
import { connectClient, type TestClient } from '../helpers/parley.js';
import { createPeerAdapterHarness, type LocalObservation } from './peer-adapter-harness.js';

/** The side under test, as the driver reaches it (directly, or through a page). */
export interface PeerSide {
  perform(event: PeerModelEvent): Promise<void>;
  refuseNextRemoteDescription(): Promise<void>;
  dataReceived(): Promise<number>;
  /** What this side shows; a UI driver returns only what its UI shows (e.g. the status). */
  observe(): Promise<Partial<LocalObservation>>;
  dispose(): Promise<void>;
}

/** The harness in this process, as a {@link PeerSide}. */
export function localPeerSide(url: string, room: string): PeerSide {
  const harness = createPeerAdapterHarness(url, room);
  return {
    perform: (event) => Promise.resolve(harness.perform(event)),
    refuseNextRemoteDescription: () => Promise.resolve(harness.refuseNextRemoteDescription()),
    dataReceived: () => Promise.resolve(harness.dataReceived()),
    observe: () => Promise.resolve(harness.observe()),
    dispose: () => Promise.resolve(harness.dispose()),
  };
}

/** A driver with its cleanup. */
export interface PeerAdapterDriver extends PeerModelDriver {
  dispose(): Promise<void>;
}

/** Drives `side` in room `room` of the Parley at `url`, with a scripted other peer. */
export function createPeerAdapterDriver(
  url: string,
  room: string,
  side: PeerSide = localPeerSide(url, room),
): PeerAdapterDriver {
  const remotes: TestClient[] = [];
  const remote = () => remotes.at(-1)!;
  let signals = 0;

  /** The other peer sends a signal; resolves once our side has it (the adapter acts on it at once). */
  const remoteSends = async (signal: Parameters<TestClient['socket']['emit']>[1]) => {
    const before = await side.dataReceived();
    remote().socket.emit('data', signal as never);
    const deadline = Date.now() + 5_000;
    while ((await side.dataReceived()) === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 1));
  };
  const received = (event: string, type?: string) =>
    remotes.reduce(
      (total, client) =>
        total +
        client
          .all(event)
          .filter((r) => type === undefined || (r.args[0] as { type?: string } | undefined)?.type === type).length,
      0,
    );

  return {
    async perform(event) {
      signals += 1;
      switch (event.type) {
        case 'remote.join':
          remotes.push(await connectClient(url, { room }));
          return;
        case 'remote.leave':
          return remote().close();
        case 'remote.offer':
          return remoteSends({ type: 'offer', sdp: `remote offer ${signals}` });
        case 'remote.answer':
          return remoteSends({ type: 'answer', sdp: `remote answer ${signals}` });
        case 'remote.badAnswer':
          await side.refuseNextRemoteDescription();
          return remoteSends({ type: 'answer', sdp: `malformed answer ${signals}` });
        case 'remote.candidate':
          return remoteSends({
            type: 'candidate',
            candidate: {
              candidate: `candidate:${signals} 1 udp 1 198.51.100.1 ${9000 + signals} typ host`,
              sdpMid: '0',
              sdpMLineIndex: 0,
            },
          });
        default:
          return side.perform(event);
      }
    },
    async observe(): Promise<Partial<PeerExpectation>> {
      return {
        ...(await side.observe()),
        offers: received('data', 'offer'),
        answers: received('data', 'answer'),
        remoteReady: received('ready'),
        remotePeerLeft: received('peer-left'),
      };
    },
    async dispose() {
      await side.dispose();
      for (const client of remotes) client.close();
    },
  };
}
