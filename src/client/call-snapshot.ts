/**
 * The call as one immutable value, and the store that hands it out: what a UI renders, in the
 * shape React's `useSyncExternalStore` and XState-style tools expect. The snapshot is a new
 * object exactly when something in it changed, and the same object otherwise; `getSnapshot`
 * and `subscribe` work unbound.
 *
 * Each part has one owner: the peer machine's summary (`CallStatus`), the signaling link
 * (socket.io-client's connection), the local and remote media, a media error. They push their
 * part with `update`; the store recomputes the snapshot in that one place.
 */
import type { CallStatus } from '../machines/peer-status.js';
import type { SignalingErrorCode } from '../protocol/signaling-error.js';

/** The signaling connection (socket.io-client's), as the user sees it. */
export type SignalingStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** Which kinds of media flow one way: true while a live, enabled track of that kind is there. */
export interface MediaState {
  readonly audio: boolean;
  readonly video: boolean;
  /** A screen share (a second video track, or the camera's replaced by the screen). */
  readonly screen: boolean;
  /** A camera is in the call, on or off; false when the call is audio only. */
  readonly hasCamera: boolean;
  /** A microphone is in the call, muted or not. */
  readonly hasMicrophone: boolean;
  /** The display name the person chose; empty if none (or the peer never said). */
  readonly name: string;
}

/** Why a call cannot go on as wanted: the server's codes, and the browser's. */
export type CallErrorCode = SignalingErrorCode | 'permission-denied' | 'no-device' | 'ice-failed';

/** An error as a value: a stable code to branch on and a message for people. */
export interface CallError {
  readonly code: CallErrorCode;
  readonly message: string;
}

/** The whole call at one moment. Never mutated: a change is a new snapshot. */
export interface CallSnapshot extends CallStatus {
  /** The signaling connection. */
  readonly signaling: SignalingStatus;
  /** What we send. */
  readonly local: MediaState;
  /** What the other side sends us. */
  readonly remote: MediaState;
  /**
   * The error to show, if any: `ice-failed` when the call failed, else the server's refusal or
   * last error (what `error` holds, as in 0.1), else the last media error (`permission-denied`,
   * `no-device`, ...).
   */
  readonly callError: CallError | undefined;
}

/** The parts a {@link CallSnapshot} is computed from, each pushed by its owner. */
export interface CallSnapshotParts {
  readonly call: CallStatus;
  readonly signaling: SignalingStatus;
  readonly local: MediaState;
  readonly remote: MediaState;
  /** The last failure to get or switch local media; cleared with `undefined`. */
  readonly mediaError: CallError | undefined;
}

/** Listens to snapshot changes. */
export type CallSnapshotListener = (snapshot: CallSnapshot) => void;

/** Hands out the memoized snapshot and tells listeners when it changes. */
export interface CallStore {
  /** The snapshot now: the same object until the call changes. Works unbound. */
  readonly getSnapshot: () => CallSnapshot;
  /**
   * Calls `listener` with the snapshot now, then on every change; returns the unsubscribe
   * function. Works unbound (`useSyncExternalStore(call.subscribe, call.getSnapshot)`).
   */
  readonly subscribe: (listener: CallSnapshotListener) => () => void;
  /** Merges changed parts; builds a new snapshot and notifies only if it differs. */
  readonly update: (parts: Partial<CallSnapshotParts>) => void;
  /**
   * Runs `fn`, holding back the recomputation until it returns: parts updated together (the
   * machine's transition and the socket its action opened) make one snapshot, not two.
   */
  readonly batch: <T>(fn: () => T) => T;
  /** Drops every listener. */
  readonly clear: () => void;
}

/** No media either way. */
export const NO_MEDIA: MediaState = Object.freeze({
  audio: false,
  video: false,
  screen: false,
  hasCamera: false,
  hasMicrophone: false,
  name: '',
});

/** Creates a store starting from `initial`. */
export function createCallStore(initial: CallSnapshotParts): CallStore {
  let parts = initial;
  let snapshot = buildSnapshot(parts);
  let key = JSON.stringify(snapshot);
  const listeners = new Set<CallSnapshotListener>();
  let batching = 0;

  const getSnapshot = () => snapshot;
  const subscribe = (listener: CallSnapshotListener) => {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry: CallSnapshotListener = (value) => listener(value);
    listeners.add(entry);
    entry(snapshot);
    return () => {
      listeners.delete(entry);
    };
  };
  const update = (changed: Partial<CallSnapshotParts>) => {
    parts = { ...parts, ...changed };
    if (batching === 0) recompute();
  };
  const recompute = () => {
    const next = buildSnapshot(parts);
    const nextKey = JSON.stringify(next);
    if (nextKey === key) return;
    snapshot = next;
    key = nextKey;
    for (const listener of [...listeners]) listener(next);
  };
  const batch = <T>(fn: () => T): T => {
    batching += 1;
    try {
      return fn();
    } finally {
      batching -= 1;
      if (batching === 0) recompute();
    }
  };
  return { getSnapshot, subscribe, update, batch, clear: () => listeners.clear() };
}

/**
 * Maps a `getUserMedia` / `getDisplayMedia` failure to a {@link CallError}: a refused
 * permission, a missing device, or `undefined` for anything else (a device in use, ...).
 * See https://w3c.github.io/mediacapture-main/#dom-mediadevices-getusermedia.
 */
export function mediaError(error: unknown): CallError | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'NotAllowedError' || name === 'SecurityError') return { code: 'permission-denied', message };
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return { code: 'no-device', message };
  return undefined;
}

function buildSnapshot({ call, signaling, local, remote, mediaError }: CallSnapshotParts): CallSnapshot {
  const callError: CallError | undefined =
    call.status === 'failed'
      ? {
          code: 'ice-failed',
          message: `the connection could not be restored after ${call.restartAttempts} ICE restarts`,
        }
      : (call.error ?? mediaError);
  return Object.freeze({
    ...call,
    signaling,
    local: Object.freeze({ ...local }),
    remote: Object.freeze({ ...remote }),
    callError:
      callError === undefined ? undefined : Object.freeze({ code: callError.code, message: callError.message }),
  });
}
