/**
 * Property tests of the adapter and the peer machine together, against a fake RTCPeerConnection
 * and fake sockets whose every asynchronous step (peer connection operations, candidate
 * gathering, `negotiationneeded`, message delivery) completes when fast-check's scheduler says.
 *
 * Definitions used below:
 * - A *reception* is one `data` message delivered to the adapter's socket. A message delivered
 *   twice is two receptions (socket.io never duplicates, but the adapter must not rely on it);
 *   browsers accept a candidate they already know, so the machine does not deduplicate.
 * - *Applied exactly once, in order*: the fake's list of `addIceCandidate` calls equals the list
 *   of candidate receptions, in reception order.
 * - *Settled*: no scheduled task is left, the actor is active (it never threw), the negotiation
 *   region rests in `stable` or `haveLocalOffer` with nothing in flight, and the queue holds
 *   nothing it could take: the machine is not stuck mid-operation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createPeerAdapter, type PeerAdapter } from '../src/client/peer-adapter.js';
import type { SignalingSocketFactory } from '../src/client/signaling-client.js';
import { nextOperationIndex } from '../src/machines/peer-operations.js';
import type { IceCandidateJson, PeerRole, SignalPayload } from '../src/protocol/signaling-events.js';
import { flush } from './helpers/fake-peer-effects.js';
import { fakeStream, fakeTrack } from './helpers/fake-media.js';
import { createFakeRtc, type Delay, type FakePeerConnection, type FakeRtc } from './helpers/fake-peer-connection.js';
import { FakeRoom, fakeSocketFactory, type FakeSocket } from './helpers/fake-signaling.js';

const NUM_RUNS = 300;

const delayWith =
  (s: fc.Scheduler): Delay =>
  (label) =>
    s.schedule(Promise.resolve(label), label).then(() => undefined);

/** Runs every scheduled task, in the scheduler's order, until none is left. */
async function settle(s: fc.Scheduler): Promise<void> {
  for (let round = 0; round < 10_000; round += 1) {
    await flush();
    if (s.count() === 0) return;
    await s.waitIdle();
  }
  throw new Error('the system never settled');
}

function adapterOn(rtc: FakeRtc, connectSocket: SignalingSocketFactory, warnings: string[]): PeerAdapter {
  return createPeerAdapter({
    room: 'r',
    connectSocket,
    RTCPeerConnection: rtc.RTCPeerConnection,
    localStream: fakeStream([fakeTrack('audio'), fakeTrack('video')]),
    clock: new SimulatedClock(), // never advanced: no timer of the machine fires here
    onWarning: (message, cause) => warnings.push(`${message}: ${String(cause)}`),
  });
}

function admit(socket: FakeSocket, role: PeerRole): void {
  socket.deliver('role', { room: 'r', role });
  socket.deliver('ice-servers', { iceServers: [{ urls: 'stun:stun.example.org' }], ttl: 600 });
}

function receivedCandidates(socket: FakeSocket): (IceCandidateJson | null)[] {
  return socket.received
    .filter((r) => r.event === 'data' && (r.args[0] as SignalPayload).type === 'candidate')
    .map((r) => (r.args[0] as { candidate: IceCandidateJson | null }).candidate);
}

function expectSettled(adapter: PeerAdapter): void {
  const snapshot = adapter.actor.getSnapshot();
  expect(snapshot.status).toBe('active');
  const stable = snapshot.matches({ session: { call: { negotiation: { stable: 'idle' } } } });
  const offering = snapshot.matches({ session: { call: { negotiation: { haveLocalOffer: 'idle' } } } });
  expect(stable || offering).toBe(true);
  const { operations, remoteDescription } = snapshot.context;
  expect(
    nextOperationIndex(operations, { remoteDescriptionSet: remoteDescription !== undefined, negotiate: stable }),
  ).toBe(-1);
  expect(snapshot.context.current).toBeUndefined();
}

const candidateArb = fc.integer({ min: 1, max: 99 }).map((n): SignalPayload => ({
  type: 'candidate',
  candidate: { candidate: `candidate:${n} 1 udp 1 198.51.100.${n} 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 },
}));
const endOfCandidatesArb = fc.constant<SignalPayload>({ type: 'candidate', candidate: null });

/** A remote script: the messages, then indices of messages delivered a second time. */
function scriptArb(descriptions: fc.Arbitrary<SignalPayload[]>) {
  return fc
    .record({
      descriptions,
      candidates: fc.array(
        fc.oneof({ weight: 9, arbitrary: candidateArb }, { weight: 1, arbitrary: endOfCandidatesArb }),
        { maxLength: 8 },
      ),
      duplicates: fc.array(fc.nat(), { maxLength: 3 }),
    })
    .map(({ descriptions, candidates, duplicates }) => {
      const messages = [...descriptions, ...candidates];
      return [...messages, ...duplicates.map((i) => messages[i % messages.length])];
    });
}

/** Delivers every message at a moment (and so in an order) the scheduler picks. */
function deliverScheduled(s: fc.Scheduler, socket: FakeSocket, messages: readonly SignalPayload[]): void {
  for (const message of messages) {
    void s.schedule(Promise.resolve(message), `deliver ${message.type}`).then((m) => socket.deliver('data', m));
  }
}

describe('peer adapter properties (fake RTCPeerConnection, fast-check scheduler)', () => {
  it('as answerer: candidates are applied only after the remote description resolved, each reception once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.constantFrom<PeerRole>('polite', 'impolite'),
        scriptArb(
          fc.array(
            fc.constantFrom('o1', 'o2', 'o3').map((sdp): SignalPayload => ({ type: 'offer', sdp })),
            { minLength: 1, maxLength: 3 },
          ),
        ),
        async (s, role, messages) => {
          const rtc = createFakeRtc(delayWith(s));
          const sockets = fakeSocketFactory();
          const warnings: string[] = [];
          const adapter = adapterOn(rtc, sockets.connect, warnings);
          adapter.join();
          const socket = sockets.sockets[0];
          admit(socket, role);
          await settle(s); // alone in the room for a while: negotiationneeded comes and is ignored
          deliverScheduled(s, socket, messages);
          await settle(s);

          const pc = rtc.connections[0];
          expect(rtc.violations).toEqual([]);
          expect(pc.appliedCandidates).toEqual(receivedCandidates(socket));
          const offers = messages.filter((m) => m.type === 'offer').length;
          expect(socket.sentSignals().filter((m) => m.type === 'answer')).toHaveLength(offers);
          expect(pc.signalingState).toBe('stable');
          expect(warnings).toEqual([]);
          expectSettled(adapter);
          adapter.dispose();
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('as offerer: early candidates wait for the answer; duplicated answers and colliding offers are absorbed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.constantFrom<PeerRole>('polite', 'impolite'),
        scriptArb(
          fc
            .tuple(fc.boolean(), fc.boolean())
            .map(([answerTwice, collide]): SignalPayload[] => [
              { type: 'answer', sdp: 'a1' },
              ...(answerTwice ? [{ type: 'answer', sdp: 'a1' } as const] : []),
              ...(collide ? [{ type: 'offer', sdp: 'their-offer' } as const] : []),
            ]),
        ),
        async (s, role, messages) => {
          const rtc = createFakeRtc(delayWith(s));
          const sockets = fakeSocketFactory();
          const warnings: string[] = [];
          const adapter = adapterOn(rtc, sockets.connect, warnings);
          adapter.join();
          const socket = sockets.sockets[0];
          admit(socket, role);
          await settle(s);
          socket.deliver('ready');
          deliverScheduled(s, socket, messages);
          await settle(s);

          const pc = rtc.connections[0];
          expect(rtc.violations).toEqual([]);
          expect(pc.appliedCandidates).toEqual(receivedCandidates(socket));
          expect(socket.sentSignals().filter((m) => m.type === 'offer').length).toBeGreaterThanOrEqual(1);
          expect(pc.signalingState).toBe('stable');
          expect(pc.remoteDescription).not.toBeNull();
          expect(warnings).toEqual([]);
          expectSettled(adapter);
          adapter.dispose();
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('two adapters back to back converge after simultaneous offers: both stable and connected on one offer/answer pair', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.boolean(),
        fc.array(fc.constantFrom('a', 'b', 'both'), { maxLength: 3 }),
        async (s, readyToBoth, renegotiations) => {
          const rtc = createFakeRtc(delayWith(s));
          const room = new FakeRoom(delayWith(s));
          const warnings: string[] = [];
          const a = adapterOn(rtc, room.a.connect, warnings);
          const b = adapterOn(rtc, room.b.connect, warnings);
          a.join();
          b.join();
          const [socketA, socketB] = room.sockets();
          admit(socketA, 'impolite');
          admit(socketB, 'polite');
          const [pcA, pcB] = rtc.connections as [FakePeerConnection, FakePeerConnection];
          await settle(s);
          // The server sends `ready` to the waiting peer only; sending it to both forces glare.
          socketA.deliver('ready');
          if (readyToBoth) socketB.deliver('ready');
          for (const side of renegotiations) {
            void s.schedule(Promise.resolve(side), `renegotiate ${side}`).then(() => {
              if (side !== 'b') pcA.requestNegotiation();
              if (side !== 'a') pcB.requestNegotiation();
            });
          }
          await settle(s);

          expect(rtc.violations).toEqual([]);
          expect([pcA.signalingState, pcB.signalingState]).toEqual(['stable', 'stable']);
          expect([pcA.connectionState, pcB.connectionState]).toEqual(['connected', 'connected']);
          expect(pcA.localDescription?.sdp).toBe(pcB.remoteDescription?.sdp);
          expect(pcB.localDescription?.sdp).toBe(pcA.remoteDescription?.sdp);
          expect(new Set([pcA.localDescription?.type, pcB.localDescription?.type])).toEqual(
            new Set(['offer', 'answer']),
          );
          expect(pcA.appliedCandidates).toEqual(receivedCandidates(socketA));
          expect(pcB.appliedCandidates).toEqual(receivedCandidates(socketB));
          expect([a.getState().status, b.getState().status]).toEqual(['connected', 'connected']);
          expect(warnings).toEqual([]);
          expectSettled(a);
          expectSettled(b);
          a.dispose();
          b.dispose();
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
