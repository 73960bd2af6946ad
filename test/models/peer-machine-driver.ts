/**
 * A driver of the peer reference model (src/testing) for the pure peer machine: an actor of
 * src/machines/peer-machine.ts with fake effects (test/helpers/fake-peer-effects.ts) and a
 * SimulatedClock, no network. The signaling server is played by a few lines here (the room's
 * roles, `ready`, `peer-left`); every pending effect is settled before a step is checked, so
 * each step is quiescent as the model assumes. Fast enough to run under mutation testing.
 */
import { createActor, SimulatedClock } from 'xstate';
import { callStatus } from '../../src/machines/peer-status.js';
import type { PeerEvent } from '../../src/machines/peer-machine.js';
import type { PeerExpectation, PeerModelDriver } from '../../src/testing/index.js';
import { FakePeerEffects, flush } from '../helpers/fake-peer-effects.js';

const STUN = { urls: 'stun:stun.model.test:3478' };
const CANDIDATE = { candidate: 'candidate:1 1 udp 1 198.51.100.1 9000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

/** A driver with its cleanup. */
export interface PeerMachineDriver extends PeerModelDriver {
  /** The ids of the machine's active state nodes now (for coverage of its chart). */
  activeStateIds(): string[];
  dispose(): void;
}

/** Creates a driver around a fresh actor. */
export function createPeerMachineDriver(): PeerMachineDriver {
  const effects = new FakePeerEffects();
  const clock = new SimulatedClock();
  const actor = createActor(effects.machine(), { clock });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();

  // The server's side: who is in the room, and what the other peer was told.
  let remote: 'polite' | 'impolite' | undefined;
  let admitted = false;
  let joinsSeen = 0;
  let leavesSeen = 0;
  let remoteReady = 0;
  let remotePeerLeft = 0;
  let refuseNext = false;

  const send = (event: PeerEvent) => actor.send(event);

  /** Settles every pending effect, oldest first, until the machine asks for nothing more. */
  const settleAll = async () => {
    await flush();
    for (let rounds = 0; effects.pending.length > 0 && rounds < 100; rounds += 1) {
      const [oldest] = effects.pending;
      const refuse = refuseNext && oldest.effect === 'setRemoteDescription';
      if (refuse) refuseNext = false;
      await effects.settle(oldest.effect, refuse ? new Error('refused by the test') : undefined);
    }
  };

  /** What the server does about our joins and leaves since the last look. */
  const serve = () => {
    if (effects.leaves > leavesSeen) {
      leavesSeen = effects.leaves;
      if (admitted && remote !== undefined) remotePeerLeft += 1;
      admitted = false;
    }
    if (effects.joins > joinsSeen) {
      // Only the newest connection is admitted: an earlier one was dropped before it was.
      joinsSeen = effects.joins;
      const role = remote === undefined ? 'impolite' : remote === 'polite' ? 'impolite' : 'polite';
      admitted = true;
      if (remote !== undefined) remoteReady += 1;
      send({ type: 'signal.role', room: 'model', role });
      send({ type: 'signal.iceServers', iceServers: [STUN], ttl: 60 });
    }
  };

  return {
    async perform(event) {
      switch (event.type) {
        case 'user.join':
        case 'user.rejoin':
        case 'user.hangUp':
          send({ type: event.type });
          break;
        case 'user.joinAndRejoin':
          send({ type: 'user.join' });
          send({ type: 'user.rejoin' });
          break;
        case 'remote.join':
          remote = admitted ? (actor.getSnapshot().context.role === 'polite' ? 'impolite' : 'polite') : 'impolite';
          if (admitted) send({ type: 'signal.ready' });
          break;
        case 'remote.leave':
          remote = undefined;
          if (admitted) send({ type: 'signal.peerLeft' });
          break;
        case 'remote.offer':
          send({ type: 'signal.offer', sdp: 'remote offer' });
          break;
        case 'remote.answer':
          send({ type: 'signal.answer', sdp: 'remote answer' });
          break;
        case 'remote.badAnswer':
          refuseNext = true;
          send({ type: 'signal.answer', sdp: 'malformed answer' });
          break;
        case 'remote.candidate':
          send({ type: 'signal.candidate', candidate: CANDIDATE });
          break;
        case 'pc.negotiationNeeded':
          send({ type: 'pc.negotiationNeeded' });
          break;
        case 'pc.connected':
          send({ type: 'pc.connected' });
          break;
        case 'pc.disconnected':
          send({ type: 'pc.disconnected' });
          break;
        case 'pc.failed':
          send({ type: 'pc.iceFailed' });
          break;
        default:
          clock.increment(event.ms);
      }
      serve();
      await settleAll();
      serve();
      await settleAll();
    },
    observe(): PeerExpectation {
      if (effects.violations.length > 0) throw new Error(`the fake effects saw: ${effects.violations.join('; ')}`);
      if (errors.length > 0) throw new Error(`the actor failed: ${String(errors[0])}`);
      const snapshot = actor.getSnapshot();
      const status = callStatus(snapshot);
      const pc = effects.pcs.at(-1);
      const offers = effects.sent.flatMap((signal) => (signal.type === 'offer' ? [signal] : []));
      return {
        status: status.status as PeerExpectation['status'],
        negotiating: status.negotiating,
        role: status.role,
        restartAttempts: status.restartAttempts,
        signalingState: pc === undefined ? 'none' : pc.closed ? 'closed' : (pc.signalingState as 'stable'),
        iceServersFromServer: pc?.iceServers.includes(STUN) ?? false,
        sockets: effects.joins,
        peerConnections: effects.pcs.length,
        offers: offers.length,
        iceRestartOffers: offers.filter((offer) => offer.sdp.endsWith('-ice-restart')).length,
        answers: effects.sent.filter((signal) => signal.type === 'answer').length,
        rollbacks: effects.pcs.reduce((total, connection) => total + connection.rollbacks, 0),
        candidatesApplied: effects.pcs.reduce((total, connection) => total + connection.candidates.length, 0),
        iceRestarts: effects.pcs.reduce((total, connection) => total + connection.restartIceCalls, 0),
        failures: effects.failures.length,
        remoteReady,
        remotePeerLeft,
      };
    },
    activeStateIds: () => actor.getSnapshot()._nodes.map((node) => node.id),
    dispose() {
      actor.stop();
    },
  };
}
