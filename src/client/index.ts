/**
 * `parley/client`: the browser side of a call as a library. The adapter that runs the peer
 * statechart against RTCPeerConnection and socket.io-client, the signaling connection, and the
 * call snapshot a UI renders. See docs/embedding.md.
 */
export {
  createPeerAdapter,
  DEFAULT_START_BITRATE_KBPS,
  type PeerAdapter,
  type PeerAdapterOptions,
  type PeerClock,
  type PeerConnectionConstructor,
} from './peer-adapter.js';
export {
  bindSignaling,
  keepResumeToken,
  connectSignaling,
  watchSignalingLink,
  type SignalingSocket,
  type SignalingSocketFactory,
} from './signaling-client.js';
export {
  createCallStore,
  mediaError,
  NO_MEDIA,
  type CallError,
  type CallErrorCode,
  type CallSnapshot,
  type CallSnapshotListener,
  type CallSnapshotParts,
  type CallStore,
  type MediaState,
  type SignalingStatus,
} from './call-snapshot.js';
export type { InspectionPublisherOptions } from './inspection-publisher.js';
export type { MediaDevicesLike } from './peer-media.js';
export type { CallStatus, CallStatusName } from '../machines/peer-status.js';
export { SignalingError, type SignalingErrorCode, type SignalingErrorPayload } from '../protocol/signaling-error.js';
export type {
  ClientToServerEvents,
  HandshakeAuth,
  IceServer,
  PeerRole,
  ServerToClientEvents,
} from '../protocol/signaling-events.js';
