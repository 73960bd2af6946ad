/**
 * The peer machine's own operations chain: remote signals in arrival order plus local requests
 * to negotiate, processed one at a time so that no two operations on the RTCPeerConnection
 * overlap (in particular, `addIceCandidate` never runs while `setRemoteDescription` does).
 * Pure data and pure functions; the machine keeps the queue in its context.
 */
import type { IceCandidateJson } from '../protocol/signaling-events.js';

/** One unit of work waiting for the peer connection. */
export type PeerOperation =
  | { readonly type: 'offer'; readonly sdp: string }
  | { readonly type: 'answer'; readonly sdp: string }
  | { readonly type: 'candidate'; readonly candidate: IceCandidateJson | null }
  | { readonly type: 'negotiate'; readonly iceRestart: boolean };

/** What the current signaling state lets the machine take from the queue. */
export interface OperationFilter {
  /**
   * Whether a remote description has been set on this peer connection. Until then remote
   * candidates stay queued: `addIceCandidate` would reject them.
   */
  readonly remoteDescriptionSet: boolean;
  /** Whether a local offer may start now (only from `stable`, as `negotiationneeded` would). */
  readonly negotiate: boolean;
}

/**
 * The index of the next operation the machine may process, or -1. Operations keep their
 * arrival order, except that held candidates (no remote description yet) and held negotiation
 * requests (an offer is already out) are overtaken by what may run now.
 */
export function nextOperationIndex(operations: readonly PeerOperation[], filter: OperationFilter): number {
  return operations.findIndex((operation) => {
    if (operation.type === 'candidate') return filter.remoteDescriptionSet;
    if (operation.type === 'negotiate') return filter.negotiate;
    return true;
  });
}

/** The queue without the operation at `index`. */
export function withoutOperation(operations: readonly PeerOperation[], index: number): PeerOperation[] {
  return operations.filter((_, i) => i !== index);
}

/**
 * Adds a request to negotiate, merged into one already waiting: a second `negotiationneeded`
 * before the first is served needs no second offer, but an ICE restart request is never lost.
 */
export function requestNegotiation(operations: readonly PeerOperation[], iceRestart: boolean): PeerOperation[] {
  const waiting = operations.findIndex((operation) => operation.type === 'negotiate');
  if (waiting === -1) return [...operations, { type: 'negotiate', iceRestart }];
  return operations.map((operation, i) =>
    i === waiting && operation.type === 'negotiate'
      ? { type: 'negotiate', iceRestart: operation.iceRestart || iceRestart }
      : operation,
  );
}
