/**
 * `parley/testing`: the model-based tests Parley runs on its own adapter, for your integration.
 * A reference model of one side of a call (perfect negotiation, held candidates, the ICE-restart
 * policy, the call lifecycle), paths through it generated with `xstate/graph`, and a runner that
 * replays each path against a driver you write: how to make each model event happen to your UI
 * (click Join, have a second client offer, advance the clock) and how to read what it shows.
 * To run your integration in Node, without a browser, as Parley's own adapter tests do, it also
 * has their fakes: an `RTCPeerConnection` ({@link createFakeRtc}), local media
 * ({@link fakeMediaDevices}, {@link fakeStream}) and xstate's {@link SimulatedClock} for the
 * adapter's timers. examples/react/test/call.model.test.tsx drives the React example this way.
 * docs/testing.md ("Model-based tests") describes the model and how Parley's own tests drive it.
 *
 * @example
 * ```ts
 * for (const path of peerModelPaths({ events: ['user.join', 'user.hangUp', 'remote.join', 'remote.leave'] })) {
 *   await runPeerModelPath(path, {
 *     perform: (event) => myUi.do(event),
 *     observe: () => ({ status: myUi.statusText() }),
 *   });
 * }
 * ```
 */
export {
  MODEL_TIMING,
  modelStatus,
  peerReferenceModel,
  possiblePeerModelEvents,
  serializePeerModelState,
  type ModelRole,
  type ModelStatus,
  type PeerModelContext,
  type PeerModelEvent,
  type PeerModelEventType,
  type PeerModelSnapshot,
  type PeerModelTally,
} from './peer-reference-model.js';
export { describeEvents, peerModelPaths, type ModelPath, type PeerModelPathOptions } from './peer-model-paths.js';
export { ModelMismatchError, runModelPath, type ModelDriver, type RunOptions } from './model-path-runner.js';
export { peerExpectation, runPeerModelPath, type PeerExpectation, type PeerModelDriver } from './peer-model.js';
export {
  createFakeRtc,
  FakeDataChannel,
  FakeIceCandidate,
  FakePeerConnection,
  FakeRtpSender,
  FakeRtpTransceiver,
  type Delay,
  type FakeCall,
  type FakeRtc,
} from './fake-peer-connection.js';
export { FakeMediaStream, FakeMediaStreamTrack, fakeMediaDevices, fakeStream, fakeTrack } from './fake-media.js';
/** The clock to give `createPeerAdapter({ clock })` so that a test moves time (`increment(ms)`) instead of waiting. */
export { SimulatedClock } from 'xstate';
