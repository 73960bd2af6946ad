/**
 * A flat summary of the peer machine's snapshot for user interfaces: which of a handful of call
 * states to show, without knowing the statechart's shape.
 */
import type { SnapshotFrom } from 'xstate';
import type { PeerRole } from '../protocol/signaling-events.js';
import type { SignalingErrorPayload } from '../protocol/signaling-error.js';
import type { PeerMachine } from './peer-machine.js';

/** What a call screen shows. */
export type CallStatusName =
  'idle' | 'joining' | 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'rejected' | 'failed' | 'closed';

/** The call as a UI sees it. */
export interface CallStatus {
  readonly status: CallStatusName;
  /** True while an offer/answer exchange is under way. */
  readonly negotiating: boolean;
  readonly role: PeerRole | undefined;
  readonly room: string | undefined;
  /** ICE restarts tried since the connection was last up. */
  readonly restartAttempts: number;
  /** Why the server refused us, or the last error it reported. */
  readonly error: SignalingErrorPayload | undefined;
}

/** Summarises a peer machine snapshot. */
export function callStatus(snapshot: SnapshotFrom<PeerMachine>): CallStatus {
  const { context } = snapshot;
  return {
    status: statusName(snapshot),
    negotiating:
      snapshot.matches({ session: 'call' }) && !snapshot.matches({ session: { call: { negotiation: 'stable' } } }),
    role: context.role,
    room: context.room,
    restartAttempts: context.restartAttempts,
    error: context.error,
  };
}

function statusName(snapshot: SnapshotFrom<PeerMachine>): CallStatusName {
  if (snapshot.matches('idle')) return 'idle';
  if (snapshot.matches('joining')) return 'joining';
  if (snapshot.matches('rejected')) return 'rejected';
  if (snapshot.matches('failed')) return 'failed';
  if (snapshot.matches('closed')) return 'closed';
  if (snapshot.matches({ session: 'waiting' })) return 'waiting';
  if (snapshot.matches({ session: { call: { connection: 'connecting' } } })) return 'connecting';
  if (snapshot.matches({ session: { call: { connection: 'connected' } } })) return 'connected';
  return 'reconnecting';
}
