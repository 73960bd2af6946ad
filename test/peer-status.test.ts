/**
 * `callStatus()` (src/machines/peer-status.ts): the flat summary a call screen reads instead of
 * the statechart. Each test drives the peer machine (fake effects, simulated clock) into one
 * situation and compares the whole summary, so that a status shown for the wrong state, a
 * `negotiating` flag that is on while the offer/answer exchange is over (or off while it runs),
 * or a context field left out, fails here.
 */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { MAX_ICE_RESTARTS, PEER_TIMING, type PeerEvent } from '../src/machines/peer-machine.js';
import { callStatus, type CallStatus } from '../src/machines/peer-status.js';
import { FakePeerEffects, flush } from './helpers/fake-peer-effects.js';

function startPeer() {
  const effects = new FakePeerEffects();
  const clock = new SimulatedClock();
  const actor = createActor(effects.machine(), { clock }).start();
  const send = async (event: PeerEvent) => {
    actor.send(event);
    await flush();
  };
  const advance = async (ms: number) => {
    clock.increment(ms);
    await flush();
  };
  const status = (): CallStatus => callStatus(actor.getSnapshot());
  return { effects, actor, send, advance, status };
}

const nobody: CallStatus = {
  status: 'idle',
  negotiating: false,
  role: undefined,
  room: undefined,
  restartAttempts: 0,
  error: undefined,
};

/** In room r1 as the impolite peer, alone. */
async function waitingPeer() {
  const peer = startPeer();
  await peer.send({ type: 'user.join' });
  await peer.send({ type: 'signal.role', room: 'r1', role: 'impolite' });
  return peer;
}

/** In a call that connected after our offer was answered. */
async function connectedPeer() {
  const peer = await waitingPeer();
  await peer.send({ type: 'signal.ready' });
  await peer.effects.settleLocalDescription();
  await peer.send({ type: 'signal.answer', sdp: 'remote-answer' });
  await peer.effects.settle('setRemoteDescription');
  await peer.send({ type: 'pc.connected' });
  return peer;
}

describe('callStatus', () => {
  it('is idle before joining, and joining until the server gives a role', async () => {
    const peer = startPeer();
    expect(peer.status()).toEqual(nobody);
    await peer.send({ type: 'user.join' });
    expect(peer.status()).toEqual({ ...nobody, status: 'joining' });
  });

  it('is waiting, not negotiating, with its room and role, while alone in the room', async () => {
    const peer = await waitingPeer();
    expect(peer.status()).toEqual({ ...nobody, status: 'waiting', role: 'impolite', room: 'r1' });
  });

  it('is negotiating from the first offer until the answer is applied, then connecting and stable', async () => {
    const peer = await waitingPeer();
    const inCall = { ...nobody, role: 'impolite', room: 'r1', status: 'connecting' } as const;
    await peer.send({ type: 'signal.ready' });
    // makingOffer: the local offer is being set.
    expect(peer.status()).toEqual({ ...inCall, negotiating: true });
    await peer.effects.settleLocalDescription();
    // haveLocalOffer: waiting for the answer.
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: 'haveLocalOffer' } } })).toBe(true);
    expect(peer.status()).toEqual({ ...inCall, negotiating: true });
    await peer.send({ type: 'signal.answer', sdp: 'remote-answer' });
    // applyingRemoteAnswer.
    expect(peer.status()).toEqual({ ...inCall, negotiating: true });
    await peer.effects.settle('setRemoteDescription');
    expect(peer.status()).toEqual({ ...inCall, negotiating: false });
  });

  it('is negotiating while it answers an offer, and not while it applies a candidate in a stable call', async () => {
    const peer = await waitingPeer();
    await peer.send({ type: 'signal.offer', sdp: 'remote-offer' });
    expect(peer.status()).toMatchObject({ status: 'connecting', negotiating: true });
    await peer.effects.settle('setRemoteDescription');
    expect(peer.status()).toMatchObject({ status: 'connecting', negotiating: true });
    await peer.effects.settleLocalDescription();
    expect(peer.status()).toMatchObject({ status: 'connecting', negotiating: false });
    await peer.send({ type: 'signal.candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' } });
    expect(peer.effects.count('addIceCandidate')).toBe(1);
    expect(peer.status()).toMatchObject({ status: 'connecting', negotiating: false });
  });

  it('is connected once the peer connection is, and reconnecting while it is disconnected or restarting ICE', async () => {
    const peer = await connectedPeer();
    const inCall = { ...nobody, role: 'impolite', room: 'r1' } as const;
    expect(peer.status()).toEqual({ ...inCall, status: 'connected' });
    await peer.send({ type: 'pc.disconnected' });
    expect(peer.status()).toEqual({ ...inCall, status: 'reconnecting' });
    await peer.send({ type: 'pc.connected' });
    expect(peer.status()).toEqual({ ...inCall, status: 'connected' });
    await peer.send({ type: 'pc.iceFailed' });
    expect(peer.status()).toEqual({ ...inCall, status: 'reconnecting' });
    await peer.advance(PEER_TIMING.restartBaseDelay);
    // restarting: one attempt counted, and the restart offer is under way.
    expect(peer.status()).toEqual({ ...inCall, status: 'reconnecting', restartAttempts: 1, negotiating: true });
  });

  it('is failed, with its attempts counted, once ICE restarts are exhausted', async () => {
    const peer = await connectedPeer();
    await peer.send({ type: 'pc.iceFailed' });
    for (let attempt = 0; attempt < MAX_ICE_RESTARTS; attempt += 1) {
      await peer.advance(PEER_TIMING.restartBaseDelay * 2 ** attempt);
      await peer.send({ type: 'pc.iceFailed' });
    }
    expect(peer.status()).toEqual({
      ...nobody,
      status: 'failed',
      role: 'impolite',
      room: 'r1',
      restartAttempts: MAX_ICE_RESTARTS,
    });
  });

  it('is rejected with the server reason, and closed after a hang-up', async () => {
    const peer = startPeer();
    await peer.send({ type: 'user.join' });
    await peer.send({ type: 'signal.rejected', code: 'room-full', message: 'Room "r1" is full' });
    expect(peer.status()).toEqual({
      ...nobody,
      status: 'rejected',
      error: { code: 'room-full', message: 'Room "r1" is full' },
    });
    await peer.send({ type: 'user.hangUp' });
    expect(peer.status()).toMatchObject({ status: 'closed', negotiating: false });
  });

  it('carries the last error the server reported during a call', async () => {
    const peer = await connectedPeer();
    await peer.send({ type: 'signal.error', code: 'no-peer', message: 'nobody' });
    expect(peer.status()).toMatchObject({ status: 'connected', error: { code: 'no-peer', message: 'nobody' } });
  });
});
