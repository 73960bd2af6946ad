/**
 * A fake RTCPeerConnection for driving the adapter in Node, without a browser: Parley's own
 * adapter tests run on it, and `parley/testing` exports it for yours. It models what the peer
 * machine relies on: the signaling state (stable / have-local-offer / have-remote-offer, implicit
 * rollback when a remote offer meets a local one), an operations chain whose steps complete when
 * the test's `delay` lets them (a fast-check scheduler in property tests), trickled local
 * candidates, `negotiationneeded`, a connection that comes up once a negotiation completed, and
 * a negotiated data channel. It records rule violations instead of hiding them. It needs no DOM:
 * it is plain objects with the DOM's shape.
 *
 * @example
 * ```ts
 * const rtc = createFakeRtc();
 * const call = createPeerAdapter({ room, connectSocket, RTCPeerConnection: rtc.RTCPeerConnection });
 * // ... once a peer connection exists:
 * rtc.connections.at(-1)?.setConnectionState('failed'); // as the ICE agent would report it
 * ```
 */
import type { PeerConnectionConstructor } from '../client/peer-adapter.js';
import type { IceCandidateJson } from '../protocol/signaling-events.js';

/** Decides when each asynchronous step of every fake completes. */
export type Delay = (label: string) => Promise<void>;

interface Description {
  readonly type: RTCSdpType;
  readonly sdp: string;
}

/** What all fakes created by one {@link createFakeRtc} share. */
export interface FakeRtc {
  /** The constructor to inject as `RTCPeerConnection`. */
  readonly RTCPeerConnection: PeerConnectionConstructor;
  /** Every fake created, in order. */
  readonly connections: FakePeerConnection[];
  /** Rules broken by the code under test, across all fakes. */
  readonly violations: string[];
}

/**
 * Creates a family of fakes whose asynchronous steps wait for `delay` (each step is named, e.g.
 * `pc1.setRemoteDescription`, `pc1.connect`, `pc1.negotiationneeded`): resolve at once to let
 * it run, never to hold it (so the test decides when the connection comes up), reject to make
 * an operation (`createOffer`, `setRemoteDescription`, ...) fail.
 */
export function createFakeRtc(delay: Delay = () => Promise.resolve()): FakeRtc {
  const connections: FakePeerConnection[] = [];
  const violations: string[] = [];
  class InjectedPeerConnection extends FakePeerConnection {
    constructor(configuration?: RTCConfiguration) {
      super(connections.length + 1, configuration ?? {}, delay, violations);
      connections.push(this);
    }
  }
  return {
    RTCPeerConnection: InjectedPeerConnection as unknown as PeerConnectionConstructor,
    connections,
    violations,
  };
}

/** A data channel negotiated out of band; `receive` plays a message from the other side. */
export class FakeDataChannel {
  readyState: RTCDataChannelState = 'connecting';
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  readonly sent: string[] = [];

  constructor(
    readonly label: string,
    readonly init: RTCDataChannelInit,
  ) {}

  send(data: string): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: channel not open');
    this.sent.push(data);
  }

  receive(data: string): void {
    this.onmessage?.({ data });
  }

  /** Test hook: the SCTP association is up (the fake calls it once a negotiation completed). */
  open(): void {
    if (this.readyState !== 'connecting') return;
    this.readyState = 'open';
    this.onopen?.();
  }

  close(): void {
    this.readyState = 'closed';
  }
}

/** What `addTrack` returns: `replaceTrack` swaps the track without any negotiation, as the spec says. */
export class FakeRtpSender {
  /** Every track `replaceTrack` was given, in order. */
  readonly replaced: (MediaStreamTrack | null)[] = [];
  /** The streams `setStreams` was given last (the remote side's `ontrack` streams). */
  streams: readonly MediaStream[] = [];

  constructor(
    public track: MediaStreamTrack | null,
    private readonly connection: FakePeerConnection,
  ) {}

  replaceTrack(track: MediaStreamTrack | null): Promise<void> {
    if (this.connection.closed) return Promise.reject(new Error('InvalidStateError: closed'));
    this.replaced.push(track);
    this.track = track;
    return Promise.resolve();
  }

  setStreams(...streams: MediaStream[]): void {
    this.streams = streams;
  }
}

/**
 * A transceiver: one media section. `addTrack` makes one that sends and receives; the remote
 * offer makes one per section it brings ({@link FakePeerConnection.addRemoteTransceiver}). A
 * change of `direction` needs a negotiation, as in a browser.
 */
export class FakeRtpTransceiver {
  readonly receiver: { readonly track: { readonly kind: string } };
  currentDirection: RTCRtpTransceiverDirection | null = null;
  private wanted: RTCRtpTransceiverDirection;

  constructor(
    kind: string,
    readonly sender: FakeRtpSender,
    direction: RTCRtpTransceiverDirection,
    private readonly onDirectionChange: () => void,
  ) {
    this.receiver = { track: { kind } };
    this.wanted = direction;
  }

  get direction(): RTCRtpTransceiverDirection {
    return this.wanted;
  }

  set direction(direction: RTCRtpTransceiverDirection) {
    if (direction === this.wanted) return;
    this.wanted = direction;
    this.onDirectionChange();
  }
}

/** One call to a peer connection method, in call order. */
export interface FakeCall {
  readonly method: string;
  readonly args: unknown[];
}

/** The fake itself; tests reach it through {@link FakeRtc.connections}. */
export class FakePeerConnection {
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: Description | null = null;
  remoteDescription: Description | null = null;
  onicecandidate: ((event: { candidate: FakeIceCandidate | null }) => void) | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: ((event: { track: MediaStreamTrack; streams: readonly MediaStream[] }) => void) | null = null;

  /** Calls in order, for assertions. */
  readonly calls: FakeCall[] = [];
  /** Remote candidates applied, in order (`null`: end of candidates). */
  readonly appliedCandidates: (IceCandidateJson | null)[] = [];
  readonly channels: FakeDataChannel[] = [];
  readonly tracks: MediaStreamTrack[] = [];
  readonly senders: FakeRtpSender[] = [];
  readonly transceivers: FakeRtpTransceiver[] = [];
  restartIceCalls = 0;
  rollbacks = 0;
  closed = false;

  private chain: Promise<unknown> = Promise.resolve();
  private remoteDescriptionsInFlight = 0;
  private negotiationNeeded = false;
  /** Operations queued on the chain and not yet settled. */
  private pendingOperations = 0;
  private offerCarriedChanges = false;
  private negotiationEventQueued = false;
  private iceGeneration = 0;
  private gatheredGeneration = -1;
  private offers = 0;
  private lastStableLocal: Description | null = null;

  constructor(
    readonly id: number,
    public configuration: RTCConfiguration,
    private readonly delay: Delay,
    private readonly violations: string[],
  ) {}

  getConfiguration(): RTCConfiguration {
    return this.configuration;
  }

  setConfiguration(configuration: RTCConfiguration): void {
    this.calls.push({ method: 'setConfiguration', args: [configuration] });
    this.configuration = configuration;
  }

  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): unknown {
    this.calls.push({ method: 'addTrack', args: [track, ...streams] });
    this.tracks.push(track);
    const sender = new FakeRtpSender(track, this);
    this.senders.push(sender);
    this.transceivers.push(new FakeRtpTransceiver(track.kind, sender, 'sendrecv', () => this.markNegotiationNeeded()));
    this.markNegotiationNeeded();
    return sender;
  }

  getSenders(): FakeRtpSender[] {
    return [...this.senders];
  }

  getTransceivers(): FakeRtpTransceiver[] {
    return [...this.transceivers];
  }

  /**
   * Test hook: a media section of `kind` that the remote offer brought and we only receive on
   * (a transceiver with no track to send, `recvonly`), as `setRemoteDescription` makes one.
   */
  addRemoteTransceiver(kind: 'audio' | 'video'): FakeRtpTransceiver {
    const sender = new FakeRtpSender(null, this);
    this.senders.push(sender);
    const transceiver = new FakeRtpTransceiver(kind, sender, 'recvonly', () => this.markNegotiationNeeded());
    this.transceivers.push(transceiver);
    return transceiver;
  }

  createDataChannel(label: string, init: RTCDataChannelInit = {}): FakeDataChannel {
    this.calls.push({ method: 'createDataChannel', args: [label, init] });
    const channel = new FakeDataChannel(label, init);
    this.channels.push(channel);
    this.markNegotiationNeeded();
    return channel;
  }

  restartIce(): void {
    this.calls.push({ method: 'restartIce', args: [] });
    this.restartIceCalls += 1;
    this.iceGeneration += 1;
    this.markNegotiationNeeded();
  }

  /** Test hook: something changed that needs negotiating (like adding a track later). */
  requestNegotiation(): void {
    this.markNegotiationNeeded();
  }

  createOffer(options: RTCOfferOptions = {}): Promise<Description> {
    this.calls.push({ method: 'createOffer', args: [options] });
    if (options.iceRestart === true) this.iceGeneration += 1;
    return this.enqueue('createOffer', () => ({ type: 'offer', sdp: this.offerSdp() }));
  }

  createAnswer(): Promise<Description> {
    this.calls.push({ method: 'createAnswer', args: [] });
    return this.enqueue('createAnswer', () => {
      if (this.signalingState !== 'have-remote-offer') {
        throw new Error(`InvalidStateError: createAnswer in ${this.signalingState}`);
      }
      return { type: 'answer', sdp: this.answerSdp() };
    });
  }

  setLocalDescription(description?: Description): Promise<void> {
    this.calls.push({ method: 'setLocalDescription', args: description === undefined ? [] : [description] });
    return this.enqueue('setLocalDescription', () => {
      const type = description?.type ?? (this.signalingState === 'have-remote-offer' ? 'answer' : 'offer');
      if (type === 'offer') {
        if (this.signalingState !== 'stable' && this.signalingState !== 'have-local-offer') {
          throw new Error(`InvalidStateError: setLocalDescription(offer) in ${this.signalingState}`);
        }
        this.localDescription = { type: 'offer', sdp: description?.sdp ?? this.offerSdp() };
        this.offerCarriedChanges = this.negotiationNeeded;
        this.negotiationNeeded = false;
        this.signalingState = 'have-local-offer';
      } else if (type === 'answer') {
        if (this.signalingState !== 'have-remote-offer') {
          throw new Error(`InvalidStateError: setLocalDescription(answer) in ${this.signalingState}`);
        }
        this.localDescription = { type: 'answer', sdp: description?.sdp ?? this.answerSdp() };
        // Tracks added earlier ride on the answer's transceivers (JSEP reuses them).
        this.negotiationNeeded = false;
        this.becomeStable();
      } else {
        throw new Error(`fake: setLocalDescription(${type}) is not modelled`);
      }
      this.gatherCandidates();
    });
  }

  setRemoteDescription(description: Description): Promise<void> {
    this.calls.push({ method: 'setRemoteDescription', args: [description] });
    this.remoteDescriptionsInFlight += 1;
    const done = this.enqueue('setRemoteDescription', () => {
      if (description.type === 'offer') {
        if (this.signalingState === 'have-local-offer') {
          // Implicit rollback (https://w3c.github.io/webrtc-pc/#dom-peerconnection-setremotedescription).
          this.rollbacks += 1;
          this.localDescription = this.lastStableLocal;
          if (this.offerCarriedChanges) this.negotiationNeeded = true;
        } else if (this.signalingState !== 'stable' && this.signalingState !== 'have-remote-offer') {
          throw new Error(`InvalidStateError: setRemoteDescription(offer) in ${this.signalingState}`);
        }
        this.remoteDescription = { type: 'offer', sdp: description.sdp };
        this.signalingState = 'have-remote-offer';
      } else if (description.type === 'answer') {
        if (this.signalingState !== 'have-local-offer') {
          throw new Error(`InvalidStateError: setRemoteDescription(answer) in ${this.signalingState}`);
        }
        this.remoteDescription = { type: 'answer', sdp: description.sdp };
        this.becomeStable();
      } else {
        throw new Error(`fake: setRemoteDescription(${description.type}) is not modelled`);
      }
    });
    return done.finally(() => {
      this.remoteDescriptionsInFlight -= 1;
    });
  }

  addIceCandidate(candidate?: IceCandidateJson): Promise<void> {
    this.calls.push({ method: 'addIceCandidate', args: candidate === undefined ? [] : [candidate] });
    if (this.remoteDescriptionsInFlight > 0) {
      this.violations.push(`pc${this.id}: addIceCandidate called while setRemoteDescription is in flight`);
    }
    if (this.remoteDescription === null) {
      this.violations.push(`pc${this.id}: addIceCandidate called before a remote description was set`);
    }
    return this.enqueue('addIceCandidate', () => {
      if (this.remoteDescription === null) throw new Error('InvalidStateError: no remote description');
      this.appliedCandidates.push(candidate ?? null);
    });
  }

  close(): void {
    this.calls.push({ method: 'close', args: [] });
    this.closed = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
    for (const channel of this.channels) channel.close();
  }

  /** Test hook: the connection state changes (e.g. `failed`), as the ICE agent would report it. */
  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }

  private enqueue<T>(label: string, step: () => T): Promise<T> {
    this.pendingOperations += 1;
    const result = this.chain.then(async () => {
      await this.delay(`pc${this.id}.${label}`);
      if (this.closed) throw new Error('InvalidStateError: closed');
      return step();
    });
    this.chain = result
      .catch(() => {})
      .then(() => {
        this.pendingOperations -= 1;
        // The negotiation-needed flag is re-evaluated once the operations chain is empty.
        if (this.pendingOperations === 0) this.fireNegotiationNeededIfNeeded();
      });
    return result;
  }

  private offerSdp(): string {
    this.offers += 1;
    return `offer pc=${this.id} n=${this.offers} ice=${this.iceGeneration}`;
  }

  private answerSdp(): string {
    return `answer pc=${this.id} ice=${this.iceGeneration} to=[${this.remoteDescription?.sdp}]`;
  }

  private becomeStable(): void {
    this.signalingState = 'stable';
    this.lastStableLocal = this.localDescription;
    if (this.connectionState === 'new' && this.localDescription !== null && this.remoteDescription !== null) {
      void this.delay(`pc${this.id}.connect`).then(() => {
        if (this.closed || this.connectionState !== 'new') return;
        for (const channel of this.channels) channel.open();
        this.setConnectionState('connected');
      });
    }
    this.fireNegotiationNeededIfNeeded();
  }

  private markNegotiationNeeded(): void {
    this.negotiationNeeded = true;
    this.fireNegotiationNeededIfNeeded();
  }

  private fireNegotiationNeededIfNeeded(): void {
    if (!this.negotiationNeeded || this.signalingState !== 'stable' || this.negotiationEventQueued) return;
    this.negotiationEventQueued = true;
    void this.delay(`pc${this.id}.negotiationneeded`).then(() => {
      this.negotiationEventQueued = false;
      // https://w3c.github.io/webrtc-pc/#dfn-update-the-negotiation-needed-flag: not while
      // operations are queued (they may carry the change), nor outside stable.
      if (this.closed || !this.negotiationNeeded || this.signalingState !== 'stable' || this.pendingOperations > 0)
        return;
      this.onnegotiationneeded?.();
    });
  }

  private gatherCandidates(): void {
    if (this.gatheredGeneration === this.iceGeneration) return;
    const generation = (this.gatheredGeneration = this.iceGeneration);
    let gathering = Promise.resolve();
    for (let n = 1; n <= 3; n += 1) {
      gathering = gathering
        .then(() => this.delay(`pc${this.id}.icecandidate`))
        .then(() => {
          if (this.closed || generation !== this.iceGeneration) return;
          this.onicecandidate?.({
            candidate:
              n === 3
                ? null
                : new FakeIceCandidate(
                    `candidate:${this.id}-${generation}-${n} 1 udp 1 192.0.2.${this.id} ${5000 + n} typ host`,
                  ),
          });
        });
    }
  }
}

/** What `onicecandidate` hands out; `toJSON` is what the adapter puts on the wire. */
export class FakeIceCandidate {
  constructor(readonly candidate: string) {}

  toJSON(): IceCandidateJson {
    return { candidate: this.candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null };
  }
}
