/**
 * `parley/machines`: Parley's statecharts, pure XState v5 machines with no DOM, sockets or
 * timers of their own (their effects are supplied with `machine.provide`). Importing this entry
 * loads xstate and nothing else: no uWebSockets.js, no socket.io-client. See docs/statecharts.md.
 */
export {
  MAX_ICE_RESTARTS,
  PEER_TIMING,
  peerMachine,
  type CandidateRequest,
  type LocalDescriptionRequest,
  type PeerContext,
  type PeerEffect,
  type PeerEvent,
  type PeerMachine,
} from './peer-machine.js';
export { callStatus, type CallStatus, type CallStatusName } from './peer-status.js';
export {
  ROOM_CAPACITY,
  otherPeer,
  roomMachine,
  type RoomContext,
  type RoomEvent,
  type RoomPeer,
} from './room-machine.js';
export {
  signalingLinkMachine,
  type SignalingLinkContext,
  type SignalingLinkEvent,
  type SignalingLinkMachine,
} from './signaling-link-machine.js';
export {
  activeTransportOf,
  engineSessionMachine,
  type EngineCloseReason,
  type EngineSessionAction,
  type EngineSessionEvent,
  type EngineTransportName,
} from './engine-session-machine.js';
