/**
 * The peer reference model as a test runs it: what an implementation must report in each model
 * state ({@link PeerExpectation}), and {@link runPeerModelPath}, which replays one path against
 * a {@link PeerModelDriver}.
 */
import { runModelPath, type RunOptions, type ModelDriver } from './model-path-runner.js';
import type { ModelPath } from './peer-model-paths.js';
import {
  modelStatus,
  peerReferenceModel,
  type ModelRole,
  type ModelStatus,
  type PeerModelEvent,
  type PeerModelSnapshot,
  type PeerModelTally,
} from './peer-reference-model.js';

/** Everything the model says about the implementation in one state; a driver reports a subset. */
export interface PeerExpectation extends PeerModelTally {
  /** The call state a UI shows (`callStatus().status`). */
  readonly status: ModelStatus;
  /** Whether an offer of ours is out (`callStatus().negotiating`). */
  readonly negotiating: boolean;
  readonly role: ModelRole | undefined;
  readonly restartAttempts: number;
  /** The current peer connection's signaling state (`none` before the first). */
  readonly signalingState: 'none' | 'stable' | 'have-local-offer' | 'closed';
  /** Whether the current peer connection has the ICE servers the server gave (false before any). */
  readonly iceServersFromServer: boolean;
}

/** A driver of the peer model: makes {@link PeerModelEvent}s happen, reports a {@link PeerExpectation} subset. */
export type PeerModelDriver = ModelDriver<PeerModelEvent, PeerExpectation>;

/** What the implementation must report in `snapshot`. */
export function peerExpectation(snapshot: PeerModelSnapshot): PeerExpectation {
  const { context } = snapshot;
  return {
    ...context.tally,
    status: modelStatus(snapshot),
    negotiating: snapshot.matches({ session: 'call' }) && context.signaling === 'have-local-offer',
    role: context.role,
    restartAttempts: context.restartAttempts,
    signalingState: context.signaling,
    iceServersFromServer: context.tally.sockets > 0,
  };
}

/** Replays `path` against `driver`, checking every state; rejects with a `ModelMismatchError`. */
export function runPeerModelPath(
  path: ModelPath<PeerModelEvent>,
  driver: PeerModelDriver,
  options?: RunOptions,
): Promise<void> {
  return runModelPath(peerReferenceModel, path, driver, peerExpectation, options);
}
