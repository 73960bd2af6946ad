/**
 * Fake effects for the peer machine: every promise effect stays pending until the test settles
 * it, and a small model of the peer connection's signaling state records what the machine did.
 * Used by the unit tests and the model-based tests of src/machines/peer-machine.ts.
 */
import { fromPromise } from 'xstate';
import {
  peerMachine,
  type CandidateRequest,
  type LocalDescriptionRequest,
  type PeerEffect,
} from '../../src/machines/peer-machine.js';
import type {
  DescriptionSignal,
  IceCandidateJson,
  IceServer,
  SignalPayload,
} from '../../src/protocol/signaling-events.js';

type AsyncEffect = 'createDescription' | 'setLocalDescription' | 'setRemoteDescription' | 'addIceCandidate';

interface PendingCall {
  readonly effect: AsyncEffect;
  readonly input: unknown;
  readonly settle: (error?: Error) => void;
}

/** The fake peer connection's state, as the machine's effects left it. */
export interface FakePcState {
  id: number;
  signalingState: RTCSignalingState;
  localDescription: DescriptionSignal | undefined;
  remoteDescription: DescriptionSignal | undefined;
  /** Candidates applied, in order. */
  candidates: (IceCandidateJson | null)[];
  iceServers: readonly IceServer[];
  restartIceCalls: number;
  rollbacks: number;
  closed: boolean;
}

/** Records every effect the machine runs and lets the test settle the asynchronous ones. */
export class FakePeerEffects {
  /** Effect names in the order the machine ran them. */
  readonly log: string[] = [];
  /** Signals the machine sent, in order. */
  readonly sent: SignalPayload[] = [];
  /** Failures the machine reported and moved past. */
  readonly failures: { effect: PeerEffect; error: unknown }[] = [];
  /** Broken rules (e.g. addIceCandidate while setRemoteDescription is in flight). */
  readonly violations: string[] = [];
  /** Every peer connection created, the current one last. */
  readonly pcs: FakePcState[] = [];
  readonly pending: PendingCall[] = [];
  joins = 0;
  leaves = 0;
  private offers = 0;

  /** The current peer connection. */
  get pc(): FakePcState {
    const pc = this.pcs.at(-1);
    if (pc === undefined) throw new Error('no peer connection yet');
    return pc;
  }

  /** The peer machine with these fakes provided. */
  machine() {
    return peerMachine.provide({
      actions: {
        joinRoom: () => {
          this.log.push('joinRoom');
          this.joins += 1;
        },
        leaveRoom: () => {
          this.log.push('leaveRoom');
          this.leaves += 1;
        },
        createPeerConnection: (_, { iceServers }) => {
          this.log.push('createPeerConnection');
          this.newPc(iceServers);
        },
        resetPeerConnection: (_, { iceServers }) => {
          this.log.push('resetPeerConnection');
          if (this.pcs.length > 0) this.pc.closed = true;
          this.newPc(iceServers);
        },
        closePeerConnection: () => {
          this.log.push('closePeerConnection');
          if (this.pcs.length > 0) this.pc.closed = true;
          this.abandonPending();
        },
        applyIceServers: (_, { iceServers }) => {
          this.log.push('applyIceServers');
          if (this.pcs.length > 0) this.pc.iceServers = iceServers;
        },
        sendSignal: (_, { signal }) => {
          this.log.push(`sendSignal:${signal.type}`);
          this.sent.push(signal);
        },
        restartIce: () => {
          this.log.push('restartIce');
          this.pc.restartIceCalls += 1;
        },
        reportFailure: (_, failure) => {
          this.log.push(`reportFailure:${failure.effect}`);
          this.failures.push(failure);
        },
      },
      actors: {
        createDescription: fromPromise<DescriptionSignal, LocalDescriptionRequest>(({ input }) =>
          this.call('createDescription', input, () => this.createLocal(input)),
        ),
        setLocalDescription: fromPromise<void, DescriptionSignal>(({ input }) =>
          this.call('setLocalDescription', input, () => this.applyLocal(input)),
        ),
        setRemoteDescription: fromPromise<void, DescriptionSignal>(({ input }) =>
          this.call('setRemoteDescription', input, () => this.applyRemote(input)),
        ),
        addIceCandidate: fromPromise<void, CandidateRequest>(({ input }) => {
          const pc = this.pc;
          if (this.pending.some((call) => call.effect === 'setRemoteDescription')) {
            this.violations.push('addIceCandidate while setRemoteDescription is in flight');
          }
          if (pc.remoteDescription === undefined) this.violations.push('addIceCandidate before any remote description');
          return this.call('addIceCandidate', input, () => {
            pc.candidates.push(input.candidate);
          });
        }),
      },
    });
  }

  /** How many calls of `effect` wait to be settled. */
  count(effect: AsyncEffect): number {
    return this.pending.filter((call) => call.effect === effect).length;
  }

  /** The input of the oldest pending call of `effect`. */
  inputOf<T>(effect: AsyncEffect): T {
    const call = this.pending.find((c) => c.effect === effect);
    if (call === undefined) throw new Error(`no pending ${effect}`);
    return call.input as T;
  }

  /** Resolves (or, with an error, rejects) the oldest pending call of `effect`, then lets the machine react. */
  async settle(effect: AsyncEffect, error?: Error): Promise<void> {
    const index = this.pending.findIndex((call) => call.effect === effect);
    if (index === -1)
      throw new Error(`no pending ${effect} (pending: ${this.pending.map((c) => c.effect).join(', ')})`);
    const [call] = this.pending.splice(index, 1);
    call.settle(error);
    await flush();
  }

  /**
   * Settles the two steps of a local description: `createDescription`, which the machine sends at
   * once, then `setLocalDescription`, which applies it.
   */
  async settleLocalDescription(): Promise<void> {
    await this.settle('createDescription');
    await this.settle('setLocalDescription');
  }

  /** A closed peer connection rejects what was still pending on it. */
  private abandonPending(): void {
    for (const call of this.pending.splice(0)) call.settle(new Error('InvalidStateError: closed'));
  }

  private newPc(iceServers: readonly IceServer[]): void {
    this.abandonPending();
    this.pcs.push({
      id: this.pcs.length + 1,
      signalingState: 'stable',
      localDescription: undefined,
      remoteDescription: undefined,
      candidates: [],
      iceServers,
      restartIceCalls: 0,
      rollbacks: 0,
      closed: false,
    });
  }

  private call<T>(effect: AsyncEffect, input: unknown, apply: () => T): Promise<T> {
    this.log.push(effect);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({
        effect,
        input,
        settle: (error) => {
          if (error !== undefined) return reject(error);
          try {
            resolve(apply());
          } catch (failure) {
            reject(failure instanceof Error ? failure : new Error(String(failure)));
          }
        },
      });
    });
  }

  /** `createOffer` / `createAnswer`: a description, with no change to the signaling state. */
  private createLocal(request: LocalDescriptionRequest): DescriptionSignal {
    const pc = this.pc;
    if (request.type === 'offer') {
      if (pc.signalingState !== 'stable' && pc.signalingState !== 'have-local-offer')
        throw new Error('InvalidStateError: createOffer in ' + pc.signalingState);
      this.offers += 1;
      return { type: 'offer', sdp: `offer-${this.offers}${request.iceRestart ? '-ice-restart' : ''}` };
    }
    if (pc.signalingState !== 'have-remote-offer')
      throw new Error('InvalidStateError: createAnswer in ' + pc.signalingState);
    return { type: 'answer', sdp: `answer-to-${pc.remoteDescription?.sdp}` };
  }

  /** `setLocalDescription(description)`. */
  private applyLocal(description: DescriptionSignal): void {
    const pc = this.pc;
    if (description.type === 'offer') {
      if (pc.signalingState !== 'stable' && pc.signalingState !== 'have-local-offer')
        throw new Error('InvalidStateError: offer in ' + pc.signalingState);
      pc.signalingState = 'have-local-offer';
    } else {
      if (pc.signalingState !== 'have-remote-offer')
        throw new Error('InvalidStateError: answer in ' + pc.signalingState);
      pc.signalingState = 'stable';
    }
    pc.localDescription = description;
  }

  private applyRemote(description: DescriptionSignal): void {
    const pc = this.pc;
    if (description.type === 'offer') {
      if (pc.signalingState === 'have-local-offer') pc.rollbacks += 1;
      pc.signalingState = 'have-remote-offer';
    } else {
      if (pc.signalingState !== 'have-local-offer')
        throw new Error('InvalidStateError: answer in ' + pc.signalingState);
      pc.signalingState = 'stable';
    }
    pc.remoteDescription = description;
  }
}

/** Lets pending promise callbacks and the actors they notify run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
