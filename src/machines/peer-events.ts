/**
 * The vocabulary of the peer machine: its events (named by source), its context, and the
 * inputs of its effects. src/machines/peer-machine.ts re-exports all of it.
 */
import type { IceCandidateJson, IceServer, PeerRole, DescriptionSignal } from '../protocol/signaling-events.js';
import type { SignalingErrorPayload } from '../protocol/signaling-error.js';
import type { PeerOperation } from './peer-operations.js';

/** Everything that can happen to a peer, named by where it comes from. */
export type PeerEvent =
  /** The user wants to join the room (the adapter then connects the signaling socket). */
  | { readonly type: 'user.join' }
  /** The user wants to leave whatever call this is and join the room again. */
  | { readonly type: 'user.rejoin' }
  /** The user ends the call. */
  | { readonly type: 'user.hangUp' }
  /** The server's `role` event: our room and perfect-negotiation role. */
  | { readonly type: 'signal.role'; readonly room: string; readonly role: PeerRole }
  /** The server's `ice-servers` event. */
  | { readonly type: 'signal.iceServers'; readonly iceServers: readonly IceServer[]; readonly ttl: number }
  /** The server's `ready` event: a second peer joined, we make the first offer. */
  | { readonly type: 'signal.ready' }
  /** A relayed offer from the other peer. */
  | { readonly type: 'signal.offer'; readonly sdp: string }
  /** A relayed answer from the other peer. */
  | { readonly type: 'signal.answer'; readonly sdp: string }
  /** A relayed ICE candidate from the other peer (`null`: end of candidates). */
  | { readonly type: 'signal.candidate'; readonly candidate: IceCandidateJson | null }
  /** The other peer left the room. */
  | { readonly type: 'signal.peerLeft' }
  /** The server refused a request (the `error` event); the session goes on. */
  | { readonly type: 'signal.error'; readonly code: SignalingErrorPayload['code']; readonly message: string }
  /** The server refused the connection (CONNECT_ERROR, e.g. `room-full`). */
  | { readonly type: 'signal.rejected'; readonly code: SignalingErrorPayload['code']; readonly message: string }
  /** The peer connection wants a (re)negotiation: `negotiationneeded`. */
  | { readonly type: 'pc.negotiationNeeded' }
  /** The peer connection gathered a local candidate (`null`: gathering is complete). */
  | { readonly type: 'pc.localCandidate'; readonly candidate: IceCandidateJson | null }
  /** `connectionState` became `connected`. */
  | { readonly type: 'pc.connected' }
  /** `connectionState` became `disconnected`. */
  | { readonly type: 'pc.disconnected' }
  /** `connectionState` became `failed`. */
  | { readonly type: 'pc.iceFailed' };

/** What the machine remembers about the call. */
export interface PeerContext {
  /** Our perfect-negotiation role, from the server's `role` event. */
  readonly role: PeerRole | undefined;
  /** The room the server put us in. */
  readonly room: string | undefined;
  /** The latest ICE servers from the server; a new peer connection starts with them. */
  readonly iceServers: readonly IceServer[];
  /** Operations waiting for the peer connection, in arrival order (see peer-operations.ts). */
  readonly operations: readonly PeerOperation[];
  /** The operation in flight, taken from `operations`. */
  readonly current: PeerOperation | undefined;
  /** The remote description applied last on this peer connection, if any. */
  readonly remoteDescription: DescriptionSignal | undefined;
  /** The local description created and sent, while `setLocalDescription` applies it. */
  readonly localDescription: DescriptionSignal | undefined;
  /** ICE restarts tried since the connection was last up. */
  readonly restartAttempts: number;
  /** Why the server refused us, or the last error it reported. */
  readonly error: SignalingErrorPayload | undefined;
}

/** Input of the `createDescription` effect. */
export interface LocalDescriptionRequest {
  readonly type: 'offer' | 'answer';
  /** For offers: ask for fresh ICE credentials (`createOffer({ iceRestart: true })`). */
  readonly iceRestart: boolean;
}

/** Input of the `addIceCandidate` effect. */
export interface CandidateRequest {
  readonly candidate: IceCandidateJson | null;
}

/** Which effect failed, for `reportFailure`. */
export type PeerEffect = 'createDescription' | 'setLocalDescription' | 'setRemoteDescription' | 'addIceCandidate';
