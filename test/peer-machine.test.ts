import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import {
  MAX_ICE_RESTARTS,
  PEER_TIMING,
  peerMachine,
  type LocalDescriptionRequest,
  type PeerEvent,
} from '../src/machines/peer-machine.js';
import { callStatus } from '../src/machines/peer-status.js';
import type { DescriptionSignal, PeerRole } from '../src/protocol/signaling-events.js';
import { FakePeerEffects, flush } from './helpers/fake-peer-effects.js';

const candidate = (n: number) => ({
  candidate: `candidate:${n} 1 udp 1 10.0.0.${n} 5000 typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/** A started peer actor with fake effects, already admitted to a room with `role`. */
function startPeer(role: PeerRole = 'impolite') {
  const effects = new FakePeerEffects();
  const clock = new SimulatedClock();
  const actor = createActor(effects.machine(), { clock });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  actor.send({ type: 'user.join' });
  actor.send({ type: 'signal.role', room: 'r1', role });
  const send = async (event: PeerEvent) => {
    actor.send(event);
    await flush();
  };
  const advance = async (ms: number) => {
    clock.increment(ms);
    await flush();
  };
  return { effects, clock, actor, errors, send, advance };
}

/** A peer that offered on `ready` and got its answer applied, and is connected. */
async function connectedOfferer(role: PeerRole = 'impolite') {
  const peer = startPeer(role);
  await peer.send({ type: 'signal.ready' });
  await peer.effects.settleLocalDescription();
  await peer.send({ type: 'signal.answer', sdp: 'remote-answer' });
  await peer.effects.settle('setRemoteDescription');
  await peer.send({ type: 'pc.connected' });
  return peer;
}

describe('peer machine: joining and waiting', () => {
  it('joins the room on user.join and creates the peer connection once the server gives a role', () => {
    const { actor, effects } = startPeer('polite');
    expect(effects.log.slice(0, 2)).toEqual(['joinRoom', 'createPeerConnection']);
    expect(actor.getSnapshot().matches({ session: 'waiting' })).toBe(true);
    expect(actor.getSnapshot().context.role).toBe('polite');
    expect(callStatus(actor.getSnapshot()).status).toBe('waiting');
  });

  it('creates the peer connection with ice servers received before the role, and applies later ones', () => {
    const effects = new FakePeerEffects();
    const actor = createActor(effects.machine()).start();
    const servers = [{ urls: 'stun:stun.example.org' }];
    actor.send({ type: 'user.join' });
    actor.send({ type: 'signal.iceServers', iceServers: servers, ttl: 60 });
    actor.send({ type: 'signal.role', room: 'r', role: 'polite' });
    expect(effects.pc.iceServers).toEqual(servers);
    const fresh = [{ urls: 'turn:turn.example.org', username: 'u', credential: 'c' }];
    actor.send({ type: 'signal.iceServers', iceServers: fresh, ttl: 60 });
    expect(effects.pc.iceServers).toEqual(fresh);
  });

  it('ignores negotiationneeded while alone in the room: there is nobody to offer to', async () => {
    const { effects, send, actor } = startPeer();
    await send({ type: 'pc.negotiationNeeded' });
    expect(effects.count('setLocalDescription')).toBe(0);
    expect(actor.getSnapshot().matches({ session: 'waiting' })).toBe(true);
  });

  it('is rejected with the server reason when the room is full, and can join again', () => {
    const effects = new FakePeerEffects();
    const actor = createActor(effects.machine()).start();
    actor.send({ type: 'user.join' });
    actor.send({ type: 'signal.rejected', code: 'room-full', message: 'Room "r" is full' });
    expect(actor.getSnapshot().value).toBe('rejected');
    expect(actor.getSnapshot().context.error?.code).toBe('room-full');
    actor.send({ type: 'user.join' });
    expect(actor.getSnapshot().value).toBe('joining');
    expect(effects.joins).toBe(2);
  });
});

describe('peer machine: offer and answer', () => {
  it('offers on ready, sends the offer, applies the answer and reaches connected', async () => {
    const { actor, effects, send } = startPeer();
    await send({ type: 'signal.ready' });
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: 'makingOffer' } } })).toBe(true);
    expect(effects.inputOf('createDescription')).toEqual({ type: 'offer', iceRestart: false });
    await effects.settle('createDescription');
    // The offer leaves as soon as it exists; the peer connection applies it meanwhile.
    expect(effects.sent).toEqual([{ type: 'offer', sdp: 'offer-1' }]);
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: 'applyingLocalOffer' } } })).toBe(true);
    expect(effects.inputOf('setLocalDescription')).toEqual({ type: 'offer', sdp: 'offer-1' });
    expect(effects.pc.signalingState).toBe('stable');
    await effects.settle('setLocalDescription');
    expect(effects.pc.signalingState).toBe('have-local-offer');
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: 'haveLocalOffer' } } })).toBe(true);
    expect(actor.getSnapshot().context.localDescription).toBeUndefined();
    await send({ type: 'signal.answer', sdp: 'remote-answer' });
    await effects.settle('setRemoteDescription');
    expect(effects.pc.signalingState).toBe('stable');
    expect(actor.getSnapshot().context.remoteDescription).toEqual({ type: 'answer', sdp: 'remote-answer' });
    await send({ type: 'pc.connected' });
    expect(callStatus(actor.getSnapshot()).status).toBe('connected');
  });

  it('answers an offer that arrives while waiting', async () => {
    const { actor, effects, send } = startPeer('polite');
    await send({ type: 'signal.offer', sdp: 'remote-offer' });
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: 'applyingRemoteOffer' } } })).toBe(true);
    await effects.settle('setRemoteDescription');
    expect(effects.inputOf('createDescription')).toEqual({ type: 'answer', iceRestart: false });
    await effects.settle('createDescription');
    expect(effects.sent).toEqual([{ type: 'answer', sdp: 'answer-to-remote-offer' }]);
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: 'applyingLocalAnswer' } } })).toBe(true);
    expect(effects.inputOf('setLocalDescription')).toEqual({ type: 'answer', sdp: 'answer-to-remote-offer' });
    await effects.settle('setLocalDescription');
    expect(effects.pc.signalingState).toBe('stable');
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
    expect(actor.getSnapshot().context.localDescription).toBeUndefined();
  });

  it('keeps an answer that arrives before its own offer is applied until it is', async () => {
    const { actor, effects, send } = startPeer();
    await send({ type: 'signal.ready' });
    await effects.settle('createDescription');
    await send({ type: 'signal.answer', sdp: 'fast-answer' });
    await send({ type: 'signal.candidate', candidate: candidate(1) });
    expect(effects.count('setRemoteDescription')).toBe(0);
    expect(actor.getSnapshot().context.operations).toHaveLength(2);
    await effects.settle('setLocalDescription');
    expect(effects.inputOf('setRemoteDescription')).toEqual({ type: 'answer', sdp: 'fast-answer' });
    await effects.settle('setRemoteDescription');
    await effects.settle('addIceCandidate');
    expect(effects.pc.signalingState).toBe('stable');
    expect(effects.pc.candidates).toEqual([candidate(1)]);
    expect(effects.violations).toEqual([]);
  });

  it('drops an answer when no offer of ours is out (stale or duplicated)', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.answer', sdp: 'remote-answer' });
    expect(peer.effects.count('setRemoteDescription')).toBe(0);
    expect(peer.actor.getSnapshot().context.operations).toEqual([]);
  });

  it('renegotiates through the same path when negotiationneeded fires during a call', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.effects.settleLocalDescription();
    expect(peer.effects.sent.at(-1)).toEqual({ type: 'offer', sdp: 'offer-2' });
  });

  it('serves negotiationneeded that arrives while answering once the answer is out, and merges repeats', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'o1' });
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.send({ type: 'pc.negotiationNeeded' });
    expect(peer.actor.getSnapshot().context.operations).toEqual([{ type: 'negotiate', iceRestart: false }]);
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settleLocalDescription();
    expect(peer.effects.inputOf('createDescription')).toEqual({ type: 'offer', iceRestart: false });
  });

  it('turns a failed setRemoteDescription into a transition and reports it', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'broken' });
    await peer.effects.settle('setRemoteDescription', new Error('OperationError: bad sdp'));
    expect(peer.errors).toEqual([]);
    expect(peer.effects.failures.map((f) => f.effect)).toEqual(['setRemoteDescription']);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
  });
});

describe('peer machine: remote candidates', () => {
  it('queues candidates until the remote description is set, then applies them in order, once each', async () => {
    const { actor, effects, send } = startPeer('polite');
    await send({ type: 'signal.candidate', candidate: candidate(1) });
    await send({ type: 'signal.offer', sdp: 'remote-offer' });
    await send({ type: 'signal.candidate', candidate: candidate(2) });
    expect(effects.count('addIceCandidate')).toBe(0);
    expect(actor.getSnapshot().context.operations).toEqual([
      { type: 'candidate', candidate: candidate(1) },
      { type: 'candidate', candidate: candidate(2) },
    ]);
    await effects.settle('setRemoteDescription');
    await effects.settleLocalDescription();
    await effects.settle('addIceCandidate');
    await send({ type: 'signal.candidate', candidate: null });
    await effects.settle('addIceCandidate');
    await effects.settle('addIceCandidate');
    expect(effects.pc.candidates).toEqual([candidate(1), candidate(2), null]);
    expect(effects.violations).toEqual([]);
    expect(actor.getSnapshot().context.operations).toEqual([]);
  });

  it('never runs addIceCandidate while setRemoteDescription is in flight, and applies one at a time', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.offer', sdp: 'renegotiation' });
    await peer.send({ type: 'signal.candidate', candidate: candidate(3) });
    await peer.send({ type: 'signal.candidate', candidate: candidate(4) });
    expect(peer.effects.count('addIceCandidate')).toBe(0);
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settleLocalDescription();
    expect(peer.effects.count('addIceCandidate')).toBe(1);
    await peer.effects.settle('addIceCandidate');
    await peer.effects.settle('addIceCandidate');
    expect(peer.effects.pc.candidates).toEqual([candidate(3), candidate(4)]);
    expect(peer.effects.violations).toEqual([]);
  });

  it('keeps going after a candidate fails to apply', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.candidate', candidate: candidate(5) });
    await peer.send({ type: 'signal.candidate', candidate: candidate(6) });
    await peer.effects.settle('addIceCandidate', new Error('OperationError: unknown ufrag'));
    await peer.effects.settle('addIceCandidate');
    expect(peer.effects.pc.candidates).toEqual([candidate(6)]);
    expect(peer.effects.failures.map((f) => f.effect)).toEqual(['addIceCandidate']);
  });

  it('applies candidates while our offer is out if a remote description is already set', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.effects.settleLocalDescription();
    await peer.send({ type: 'signal.candidate', candidate: candidate(7) });
    expect(
      peer.actor.getSnapshot().matches({ session: { call: { negotiation: { haveLocalOffer: 'applyingCandidate' } } } }),
    ).toBe(true);
    await peer.effects.settle('addIceCandidate');
    expect(peer.effects.pc.candidates).toEqual([candidate(7)]);
  });

  it('trickles local candidates to the other peer', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.localCandidate', candidate: candidate(8) });
    expect(peer.effects.sent.at(-1)).toEqual({ type: 'candidate', candidate: candidate(8) });
  });
});

describe('peer machine: glare (perfect negotiation)', () => {
  it('impolite: ignores an offer that collides with its own and keeps waiting for the answer', async () => {
    const peer = startPeer('impolite');
    await peer.send({ type: 'signal.ready' });
    await peer.send({ type: 'signal.offer', sdp: 'their-offer' }); // arrives while making our offer
    await peer.effects.settleLocalDescription();
    expect(peer.effects.count('setRemoteDescription')).toBe(0);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { haveLocalOffer: 'idle' } } } })).toBe(
      true,
    );
    await peer.send({ type: 'signal.answer', sdp: 'their-answer' });
    await peer.effects.settle('setRemoteDescription');
    expect(peer.effects.pc.remoteDescription).toEqual({ type: 'answer', sdp: 'their-answer' });
    expect(peer.effects.sent.map((s) => s.type)).toEqual(['offer']);
  });

  it('polite: rolls its offer back by applying the colliding offer, then answers it', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.ready' });
    await peer.effects.settleLocalDescription();
    await peer.send({ type: 'signal.offer', sdp: 'their-offer' });
    expect(peer.effects.inputOf('setRemoteDescription')).toEqual({ type: 'offer', sdp: 'their-offer' });
    await peer.effects.settle('setRemoteDescription');
    expect(peer.effects.pc.rollbacks).toBe(1);
    await peer.effects.settleLocalDescription();
    expect(peer.effects.sent).toEqual([
      { type: 'offer', sdp: 'offer-1' },
      { type: 'answer', sdp: 'answer-to-their-offer' },
    ]);
    expect(peer.effects.pc.signalingState).toBe('stable');
  });

  it('polite: an offer arriving while making its own offer waits for it, then rolls it back', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.ready' });
    await peer.send({ type: 'signal.offer', sdp: 'their-offer' });
    expect(peer.effects.count('setRemoteDescription')).toBe(0);
    await peer.effects.settleLocalDescription();
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settleLocalDescription();
    expect(peer.effects.pc.rollbacks).toBe(1);
    expect(peer.effects.sent.at(-1)).toEqual({ type: 'answer', sdp: 'answer-to-their-offer' });
  });
});

describe('peer machine: peer leaving and hanging up', () => {
  it('goes back to waiting with a fresh peer connection when the peer leaves', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.candidate', candidate: candidate(9) });
    await peer.send({ type: 'signal.peerLeft' });
    expect(peer.actor.getSnapshot().matches({ session: 'waiting' })).toBe(true);
    expect(peer.effects.log).toContain('resetPeerConnection');
    expect(peer.effects.pcs).toHaveLength(2);
    expect(peer.effects.pcs[0].closed).toBe(true);
    expect(peer.effects.pc.closed).toBe(false);
    expect(peer.actor.getSnapshot().context).toMatchObject({
      operations: [],
      remoteDescription: undefined,
      current: undefined,
    });
  });

  it('treats a role event during a call as a fresh join and resets the call', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.role', room: 'r1', role: 'polite' });
    expect(peer.actor.getSnapshot().matches({ session: 'waiting' })).toBe(true);
    expect(peer.effects.pcs).toHaveLength(2);
  });

  it('leaves the room and closes the peer connection on hang-up, and can rejoin', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'user.hangUp' });
    expect(peer.actor.getSnapshot().value).toBe('closed');
    expect(peer.effects.pc.closed).toBe(true);
    expect(peer.effects.leaves).toBe(1);
    await peer.send({ type: 'user.rejoin' });
    expect(peer.actor.getSnapshot().value).toBe('joining');
    expect(peer.effects.joins).toBe(2);
  });

  it('rejoin during a call leaves, closes and joins again', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'user.rejoin' });
    expect(peer.effects.log.slice(-3)).toEqual(['closePeerConnection', 'leaveRoom', 'joinRoom']);
    expect(peer.effects.pc.closed).toBe(true);
    expect(peer.effects.joins).toBe(2);
    expect(peer.actor.getSnapshot().value).toBe('joining');
  });
});

describe('peer machine: ICE restart policy', () => {
  it('restarts ICE after a backoff when ICE fails, with an ice-restart offer, and recovers', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.iceFailed' });
    expect(callStatus(peer.actor.getSnapshot()).status).toBe('reconnecting');
    await peer.advance(PEER_TIMING.restartBaseDelay - 1);
    expect(peer.effects.pc.restartIceCalls).toBe(0);
    await peer.advance(1);
    expect(peer.effects.pc.restartIceCalls).toBe(1);
    expect(peer.effects.inputOf('createDescription')).toEqual({ type: 'offer', iceRestart: true });
    await peer.effects.settleLocalDescription();
    expect(peer.effects.sent.at(-1)).toEqual({ type: 'offer', sdp: 'offer-2-ice-restart' });
    await peer.send({ type: 'signal.answer', sdp: 'restart-answer' });
    await peer.effects.settle('setRemoteDescription');
    await peer.send({ type: 'pc.connected' });
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(0);
    expect(callStatus(peer.actor.getSnapshot()).status).toBe('connected');
  });

  it('backs off exponentially, then fails after the last restart and leaves the room', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.iceFailed' });
    const restartTimes: number[] = [];
    let waited = 0;
    for (let attempt = 0; attempt < MAX_ICE_RESTARTS; attempt += 1) {
      const backoff = PEER_TIMING.restartBaseDelay * 2 ** attempt;
      await peer.advance(backoff - 1);
      expect(peer.effects.pc.restartIceCalls).toBe(attempt);
      await peer.advance(1);
      waited += backoff;
      restartTimes.push(waited);
      expect(peer.effects.pc.restartIceCalls).toBe(attempt + 1);
      await peer.send({ type: 'pc.iceFailed' });
    }
    expect(restartTimes).toEqual([1_000, 3_000, 7_000]);
    expect(peer.actor.getSnapshot().value).toBe('failed');
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(MAX_ICE_RESTARTS);
    expect(peer.effects.pc.closed).toBe(true);
    expect(peer.effects.leaves).toBe(1);
    expect(callStatus(peer.actor.getSnapshot()).status).toBe('failed');
  });

  it('counts a restart that times out as a failure', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.iceFailed' });
    await peer.advance(PEER_TIMING.restartBaseDelay);
    await peer.advance(PEER_TIMING.restartTimeout);
    expect(peer.actor.getSnapshot().matches({ session: { call: { connection: 'backingOff' } } })).toBe(true);
    await peer.advance(PEER_TIMING.restartBaseDelay * 2);
    expect(peer.effects.pc.restartIceCalls).toBe(2);
  });

  it('lets a short disconnection heal, and restarts ICE after a lasting one', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.disconnected' });
    await peer.advance(PEER_TIMING.disconnectGrace - 1);
    await peer.send({ type: 'pc.connected' });
    await peer.advance(PEER_TIMING.disconnectGrace * 10);
    expect(peer.effects.pc.restartIceCalls).toBe(0);
    await peer.send({ type: 'pc.disconnected' });
    await peer.advance(PEER_TIMING.disconnectGrace);
    await peer.advance(PEER_TIMING.restartBaseDelay);
    expect(peer.effects.pc.restartIceCalls).toBe(1);
  });

  it('resets the retry count when the connection recovers', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.iceFailed' });
    await peer.advance(PEER_TIMING.restartBaseDelay);
    await peer.send({ type: 'pc.iceFailed' });
    await peer.advance(PEER_TIMING.restartBaseDelay * 2);
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(2);
    await peer.send({ type: 'pc.connected' });
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(0);
    await peer.send({ type: 'pc.iceFailed' });
    await peer.advance(PEER_TIMING.restartBaseDelay);
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(1);
  });

  it('tries an ICE restart when a new call does not connect in time', async () => {
    const peer = startPeer();
    await peer.send({ type: 'signal.ready' });
    await peer.advance(PEER_TIMING.connectTimeout);
    await peer.advance(PEER_TIMING.restartBaseDelay);
    expect(peer.effects.pc.restartIceCalls).toBe(1);
    expect(peer.errors).toEqual([]);
  });
});

/**
 * The tests below pin down parts of the chart that the scenarios above pass through without
 * looking: each was found by a mutant (docs/testing.md, "Mutation testing") that survived them.
 */
describe('peer machine: joining, details', () => {
  it('creates the first peer connection with no ice servers when none were received', () => {
    const { effects } = startPeer();
    expect(effects.pc.iceServers).toEqual([]);
  });

  it('forgets the last error when it joins again', () => {
    const effects = new FakePeerEffects();
    const actor = createActor(effects.machine()).start();
    actor.send({ type: 'user.join' });
    actor.send({ type: 'signal.rejected', code: 'room-full', message: 'full' });
    actor.send({ type: 'user.join' });
    expect(actor.getSnapshot().context.error).toBeUndefined();
  });

  it('rejoin while still joining leaves and joins afresh (the state is entered again)', () => {
    const effects = new FakePeerEffects();
    const actor = createActor(effects.machine()).start();
    actor.send({ type: 'user.join' });
    actor.send({ type: 'user.rejoin' });
    expect(effects.log).toEqual(['joinRoom', 'leaveRoom', 'joinRoom']);
    expect(effects.joins).toBe(2);
    expect(actor.getSnapshot().value).toBe('joining');
  });

  it('takes a new role while waiting without leaving the session', () => {
    const { actor, effects } = startPeer('impolite');
    actor.send({ type: 'signal.role', room: 'r2', role: 'polite' });
    expect(actor.getSnapshot().context).toMatchObject({ role: 'polite', room: 'r2' });
    expect(actor.getSnapshot().matches({ session: 'waiting' })).toBe(true);
    expect(effects.pcs).toHaveLength(1);
  });

  it('is rejected in the session too: it stores the reason and closes the peer connection', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.rejected', code: 'room-full', message: 'Room "r1" is full' });
    expect(peer.actor.getSnapshot().value).toBe('rejected');
    expect(peer.actor.getSnapshot().context.error).toEqual({ code: 'room-full', message: 'Room "r1" is full' });
    expect(peer.effects.pc.closed).toBe(true);
  });
});

describe('peer machine: a role event mid-call, details', () => {
  it('stores the new role, forgets the call and its restarts, and gives the fresh peer connection the ice servers', async () => {
    const servers = [{ urls: 'stun:stun.example.org' }];
    const peer = await connectedOfferer('impolite');
    await peer.send({ type: 'signal.iceServers', iceServers: servers, ttl: 60 });
    await peer.send({ type: 'pc.iceFailed' });
    await peer.advance(PEER_TIMING.restartBaseDelay);
    await peer.send({ type: 'signal.candidate', candidate: candidate(1) });
    expect(peer.actor.getSnapshot().context.restartAttempts).toBe(1);
    await peer.send({ type: 'signal.role', room: 'r1', role: 'polite' });
    expect(peer.actor.getSnapshot().context).toMatchObject({
      role: 'polite',
      operations: [],
      current: undefined,
      remoteDescription: undefined,
      restartAttempts: 0,
    });
    expect(peer.effects.log).toContain('resetPeerConnection');
    expect(peer.effects.pc.iceServers).toEqual(servers);
  });
});

describe('peer machine: failed effects, details', () => {
  it('an offer that cannot be created is reported, forgotten, sent nowhere, and leaves negotiation stable', async () => {
    const peer = startPeer();
    await peer.send({ type: 'signal.ready' });
    await peer.effects.settle('createDescription', new Error('OperationError: no offer'));
    expect(peer.effects.failures).toEqual([
      { effect: 'createDescription', error: new Error('OperationError: no offer') },
    ]);
    expect(peer.effects.sent).toEqual([]);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
    expect(peer.actor.getSnapshot().context.current).toBeUndefined();
    expect(peer.errors).toEqual([]);
  });

  it('an offer sent but not applied is reported; its answer is then dropped as stale and the next need offers again', async () => {
    const peer = startPeer();
    await peer.send({ type: 'signal.ready' });
    await peer.effects.settle('createDescription');
    await peer.effects.settle('setLocalDescription', new Error('InvalidModificationError'));
    expect(peer.effects.failures.map((failure) => failure.effect)).toEqual(['setLocalDescription']);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
    expect(peer.actor.getSnapshot().context.localDescription).toBeUndefined();
    await peer.send({ type: 'signal.answer', sdp: 'answer-to-offer-1' });
    expect(peer.effects.count('setRemoteDescription')).toBe(0);
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.effects.settleLocalDescription();
    expect(peer.effects.sent.map((signal) => signal.type === 'offer' && signal.sdp)).toEqual(['offer-1', 'offer-2']);
    expect(peer.effects.pc.signalingState).toBe('have-local-offer');
  });

  it('an answer that cannot be created is reported, sent nowhere, and leaves negotiation stable', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'remote-offer' });
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settle('createDescription', new Error('OperationError: no answer'));
    expect(peer.effects.failures).toEqual([
      { effect: 'createDescription', error: new Error('OperationError: no answer') },
    ]);
    expect(peer.effects.sent).toEqual([]);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
  });

  it('an answer sent but not applied is reported and leaves negotiation stable', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'remote-offer' });
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settle('createDescription');
    await peer.effects.settle('setLocalDescription', new Error('OperationError: no answer'));
    expect(peer.effects.failures.map((failure) => failure.effect)).toEqual(['setLocalDescription']);
    expect(peer.effects.sent).toEqual([{ type: 'answer', sdp: 'answer-to-remote-offer' }]);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
    expect(peer.actor.getSnapshot().context.localDescription).toBeUndefined();
  });

  it('a remote answer that fails to apply is reported, and the offer stays out for a good one', async () => {
    const peer = startPeer();
    await peer.send({ type: 'signal.ready' });
    await peer.effects.settleLocalDescription();
    await peer.send({ type: 'signal.answer', sdp: 'bad-answer' });
    await peer.effects.settle('setRemoteDescription', new Error('OperationError: bad sdp'));
    expect(peer.effects.failures).toEqual([
      { effect: 'setRemoteDescription', error: new Error('OperationError: bad sdp') },
    ]);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { haveLocalOffer: 'idle' } } } })).toBe(
      true,
    );
    expect(peer.actor.getSnapshot().context.current).toBeUndefined();
    await peer.send({ type: 'signal.answer', sdp: 'good-answer' });
    await peer.effects.settle('setRemoteDescription');
    expect(peer.actor.getSnapshot().context.remoteDescription).toEqual({ type: 'answer', sdp: 'good-answer' });
  });

  it('a remote offer that fails to apply is forgotten', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'broken' });
    await peer.effects.settle('setRemoteDescription', new Error('OperationError: bad sdp'));
    expect(peer.actor.getSnapshot().context.current).toBeUndefined();
  });

  it('a candidate that fails while our offer is out is reported, and the offer stays out', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.effects.settleLocalDescription();
    await peer.send({ type: 'signal.candidate', candidate: candidate(2) });
    await peer.effects.settle('addIceCandidate', new Error('OperationError: unknown ufrag'));
    expect(peer.effects.failures).toEqual([
      { effect: 'addIceCandidate', error: new Error('OperationError: unknown ufrag') },
    ]);
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: { haveLocalOffer: 'idle' } } } })).toBe(
      true,
    );
    expect(peer.actor.getSnapshot().context.current).toBeUndefined();
  });
});

describe('peer machine: the operation in flight is forgotten once done', () => {
  it('after an offer is sent, an answer applied and candidates applied (or not) in either state', async () => {
    const peer = await connectedOfferer();
    const current = () => peer.actor.getSnapshot().context.current;
    expect(current()).toBeUndefined();
    await peer.send({ type: 'signal.candidate', candidate: candidate(1) });
    expect(current()).toEqual({ type: 'candidate', candidate: candidate(1) });
    await peer.effects.settle('addIceCandidate');
    expect(current()).toBeUndefined();
    await peer.send({ type: 'signal.candidate', candidate: candidate(2) });
    await peer.effects.settle('addIceCandidate', new Error('OperationError'));
    expect(current()).toBeUndefined();
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.effects.settleLocalDescription();
    expect(current()).toBeUndefined();
    await peer.send({ type: 'signal.candidate', candidate: candidate(3) });
    await peer.effects.settle('addIceCandidate');
    expect(current()).toBeUndefined();
  });
});

describe('peer machine: which operations each signaling state looks at', () => {
  it('stable: a negotiation requested before a queued offer is served first', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'o1' });
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.send({ type: 'signal.offer', sdp: 'o2' });
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settleLocalDescription();
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: 'makingOffer' } } })).toBe(true);
    expect(peer.actor.getSnapshot().context.operations).toEqual([{ type: 'offer', sdp: 'o2' }]);
    expect(peer.errors).toEqual([]);
  });

  it('stable: a negotiation requested before a queued answer is served first, and the answer then applies to it', async () => {
    const peer = startPeer('polite');
    await peer.send({ type: 'signal.offer', sdp: 'o1' });
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.send({ type: 'signal.answer', sdp: 'a1' });
    await peer.effects.settle('setRemoteDescription');
    await peer.effects.settleLocalDescription();
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: 'makingOffer' } } })).toBe(true);
    await peer.effects.settleLocalDescription();
    expect(peer.effects.inputOf('setRemoteDescription')).toEqual({ type: 'answer', sdp: 'a1' });
  });

  it('stable: a negotiation requested before a queued candidate is served first, and the candidate then applies', async () => {
    const peer = await connectedOfferer();
    await peer.send({ type: 'signal.candidate', candidate: candidate(1) });
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.send({ type: 'signal.candidate', candidate: candidate(2) });
    await peer.effects.settle('addIceCandidate');
    expect(peer.actor.getSnapshot().matches({ session: { call: { negotiation: 'makingOffer' } } })).toBe(true);
    expect(peer.actor.getSnapshot().context.operations).toEqual([{ type: 'candidate', candidate: candidate(2) }]);
    await peer.effects.settleLocalDescription();
    await peer.effects.settle('addIceCandidate');
    expect(peer.effects.pc.candidates).toEqual([candidate(1), candidate(2)]);
    expect(peer.errors).toEqual([]);
  });

  it('have-local-offer, impolite: a colliding offer is dropped even behind a requested negotiation, which waits', async () => {
    const peer = startPeer('impolite');
    await peer.send({ type: 'signal.ready' });
    await peer.effects.settleLocalDescription();
    await peer.send({ type: 'pc.negotiationNeeded' });
    await peer.send({ type: 'signal.offer', sdp: 'their-offer' });
    expect(peer.actor.getSnapshot().context.operations).toEqual([{ type: 'negotiate', iceRestart: false }]);
    expect(peer.effects.count('setRemoteDescription')).toBe(0);
  });
});

describe('peer machine: connectivity, details', () => {
  it('a new call that disconnects before it connects waits out the grace, not the connect timeout', async () => {
    const peer = startPeer();
    await peer.send({ type: 'signal.ready' });
    await peer.send({ type: 'pc.disconnected' });
    expect(peer.actor.getSnapshot().matches({ session: { call: { connection: 'disconnected' } } })).toBe(true);
    await peer.advance(PEER_TIMING.disconnectGrace);
    expect(peer.actor.getSnapshot().matches({ session: { call: { connection: 'backingOff' } } })).toBe(true);
  });
});

describe('peer machine: effects that were not provided', () => {
  /** The bare machine, with only reportFailure watched: its placeholders must fail loudly, not hang. */
  function startBare(actors: Parameters<typeof peerMachine.provide>[0]['actors'] = {}) {
    const failures: { effect: string; error: unknown }[] = [];
    const machine = peerMachine.provide({
      actions: { reportFailure: (_, failure) => failures.push(failure) },
      actors,
    });
    const actor = createActor(machine).start();
    actor.send({ type: 'user.join' });
    actor.send({ type: 'signal.role', room: 'r', role: 'polite' });
    return { actor, failures };
  }

  it('rejects createDescription, setLocalDescription and setRemoteDescription with an error naming the effect', async () => {
    const { actor, failures } = startBare();
    actor.send({ type: 'signal.ready' });
    await flush();
    actor.send({ type: 'signal.offer', sdp: 'o' });
    await flush();
    const created = startBare({
      createDescription: fromPromise<DescriptionSignal, LocalDescriptionRequest>(() =>
        Promise.resolve({ type: 'offer', sdp: 'o' }),
      ),
    });
    created.actor.send({ type: 'signal.ready' });
    await flush();
    expect([...failures, ...created.failures].map((f) => [f.effect, (f.error as Error).message])).toEqual([
      ['createDescription', 'peerMachine: the "createDescription" effect was not provided (use peerMachine.provide)'],
      [
        'setRemoteDescription',
        'peerMachine: the "setRemoteDescription" effect was not provided (use peerMachine.provide)',
      ],
      [
        'setLocalDescription',
        'peerMachine: the "setLocalDescription" effect was not provided (use peerMachine.provide)',
      ],
    ]);
    expect(actor.getSnapshot().matches({ session: { call: { negotiation: { stable: 'idle' } } } })).toBe(true);
  });

  it('rejects addIceCandidate with an error naming the effect', async () => {
    const { actor, failures } = startBare({
      setRemoteDescription: fromPromise<void, DescriptionSignal>(() => Promise.resolve()),
      createDescription: fromPromise<DescriptionSignal, LocalDescriptionRequest>(() =>
        Promise.resolve({ type: 'answer', sdp: 'a' }),
      ),
      setLocalDescription: fromPromise<void, DescriptionSignal>(() => Promise.resolve()),
    });
    actor.send({ type: 'signal.offer', sdp: 'o' });
    await flush();
    actor.send({ type: 'signal.candidate', candidate: candidate(1) });
    await flush();
    expect(failures.map((f) => [f.effect, (f.error as Error).message])).toEqual([
      ['addIceCandidate', 'peerMachine: the "addIceCandidate" effect was not provided (use peerMachine.provide)'],
    ]);
  });
});

describe('peer machine: the effect in flight is a child actor named after it', () => {
  // The inspector (src/client/inspector) lists an invoked effect by this id.
  it('names each asynchronous effect in every state that runs one', async () => {
    const peer = await connectedOfferer();
    const children = () => Object.keys(peer.actor.getSnapshot().children);
    await peer.send({ type: 'signal.candidate', candidate: candidate(1) });
    expect(children()).toEqual(['addIceCandidate']);
    await peer.effects.settle('addIceCandidate');
    await peer.send({ type: 'pc.negotiationNeeded' });
    expect(children()).toEqual(['createDescription']);
    await peer.effects.settle('createDescription');
    expect(children()).toEqual(['setLocalDescription']);
    await peer.effects.settle('setLocalDescription');
    await peer.send({ type: 'signal.candidate', candidate: candidate(2) });
    expect(children()).toEqual(['addIceCandidate']);
    await peer.effects.settle('addIceCandidate');
    await peer.send({ type: 'signal.answer', sdp: 'a2' });
    expect(children()).toEqual(['setRemoteDescription']);
    await peer.effects.settle('setRemoteDescription');
    await peer.send({ type: 'signal.offer', sdp: 'o3' });
    expect(children()).toEqual(['setRemoteDescription']);
    await peer.effects.settle('setRemoteDescription');
    expect(children()).toEqual(['createDescription']);
    await peer.effects.settle('createDescription');
    expect(children()).toEqual(['setLocalDescription']);
    await peer.effects.settle('setLocalDescription');
    expect(children()).toEqual([]);
  });
});
