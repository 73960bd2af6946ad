/**
 * The thin browser adapter: binds the peer machine to an RTCPeerConnection, a local
 * MediaStream and the signaling socket. It translates DOM and socket events into machine events
 * and carries out the machine's effects; every protocol decision (who offers, glare, candidate
 * queueing, ICE restarts) is the machine's.
 *
 * @example
 * ```ts
 * const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
 * const call = createPeerAdapter({
 *   room: 'kitchen',
 *   localStream: stream,
 *   connectSocket: connectSignaling(location.origin),
 *   iceTransportPolicy: new URLSearchParams(location.search).get('policy') === 'relay' ? 'relay' : 'all',
 * });
 * call.subscribe((state) => render(state.status));
 * call.onRemoteTrack((track, streams) => (video.srcObject = streams[0] ?? null));
 * call.join();
 * ```
 */
import { createActor, fromPromise, type Actor, type ActorOptions } from 'xstate';
import {
  peerMachine,
  type CandidateRequest,
  type LocalDescriptionRequest,
  type PeerEvent,
  type PeerMachine,
} from '../machines/peer-machine.js';
import { callStatus } from '../machines/peer-status.js';
import type { SignalingError } from '../protocol/signaling-error.js';
import type { DescriptionSignal, IceCandidateJson, IceServer, SignalPayload } from '../protocol/signaling-events.js';
import {
  bindSignaling,
  keepResumeToken,
  watchSignalingLink,
  type SignalingSocket,
  type SignalingSocketFactory,
} from './signaling-client.js';
import {
  createCallStore,
  mediaError,
  NO_MEDIA,
  type CallSnapshot,
  type CallSnapshotListener,
} from './call-snapshot.js';
import { createInspectionPublisher, type InspectionPublisherOptions } from './inspection-publisher.js';
import { createPeerMedia, type MediaDevicesLike } from './peer-media.js';
import { withStartBitrate } from './start-bitrate.js';

/** The timer source of the machine (xstate's `Clock`): `setTimeout`/`clearTimeout`. */
export type PeerClock = NonNullable<ActorOptions<PeerMachine>['clock']>;

/** Anything constructible like `RTCPeerConnection` (the real class, or a fake in tests). */
export type PeerConnectionConstructor = new (configuration?: RTCConfiguration) => RTCPeerConnection;

/** How to build a {@link PeerAdapter}. */
export interface PeerAdapterOptions {
  /** The room to join (handshake auth); the server's default room if omitted. */
  readonly room?: string;
  /** The room's secret (handshake auth), if it has one: docs/security.md, "Rooms and secrets". */
  readonly secret?: string;
  /** Opens the signaling socket, e.g. `connectSignaling(url)`; called on every (re)join. */
  readonly connectSocket: SignalingSocketFactory;
  /** Local audio/video to send; the app gets it from `getUserMedia`. */
  readonly localStream?: MediaStream;
  /** `'relay'` forces TURN (for `?policy=relay`); default `'all'`. */
  readonly iceTransportPolicy?: RTCIceTransportPolicy;
  /** The RTCPeerConnection class; defaults to the global one. */
  readonly RTCPeerConnection?: PeerConnectionConstructor;
  /** The clock for the machine's timers; tests pass a `SimulatedClock`. */
  readonly clock?: PeerClock;
  /** Receives failures the machine moved past and payloads that broke the contract. */
  readonly onWarning?: (message: string, cause: unknown) => void;
  /**
   * Publish the peer machine and the signaling link to Parley's live inspector when the server
   * asks for it (it runs with `--inspect`); off by default. `true`, or options for the batching.
   * See docs/inspector.md.
   */
  readonly inspect?: boolean | InspectionPublisherOptions;
  /** The name the other side sees (sent over the media-state channel); none by default. */
  readonly displayName?: string;
  /** Where switched devices and screen shares come from; defaults to `navigator.mediaDevices`. */
  readonly mediaDevices?: MediaDevicesLike;
  /**
   * The bitrate, in kbps, the other side's video starts at: asked for in each offer and answer
   * sent (`x-google-start-bitrate`, read by Chrome, Edge and Safari; src/client/start-bitrate.ts).
   * {@link DEFAULT_START_BITRATE_KBPS} by default; `false` leaves the browser's own (300 kbps).
   */
  readonly startBitrateKbps?: number | false;
}

/**
 * The video start bitrate the adapter asks for unless told otherwise: a sharp picture from the
 * first frame on a broadband or office link. The sender's estimate still follows the real link.
 */
export const DEFAULT_START_BITRATE_KBPS = 1000;

/** A one-to-one call as a UI drives it. */
export interface PeerAdapter {
  /** The underlying peer machine actor (for inspection and devtools). */
  readonly actor: Actor<PeerMachine>;
  /**
   * The call now: the same object until something in it changes, so it can be compared by
   * identity. A plain function: works unbound, e.g. `useSyncExternalStore(call.subscribe, call.getSnapshot)`.
   */
  readonly getSnapshot: () => CallSnapshot;
  /** The same as {@link PeerAdapter.getSnapshot} (kept from 0.1; a {@link CallSnapshot} extends `CallStatus`). */
  readonly getState: () => CallSnapshot;
  /**
   * Calls `listener` with the snapshot now and on every change; returns an unsubscribe
   * function. A plain function: works unbound.
   */
  readonly subscribe: (listener: CallSnapshotListener) => () => void;
  /** Connects to the signaling server and joins the room. */
  join(): void;
  /** Leaves whatever call this is (if any) and joins the room again. */
  rejoin(): void;
  /** Ends the call: emits `leave`, disconnects the socket and closes the peer connection. */
  hangUp(): void;
  /** Sends a chat message over the data channel; false if the channel is not open. */
  sendChat(text: string): boolean;
  /** Calls `listener` for each chat message received; returns an unsubscribe function. */
  onChat(listener: (text: string) => void): () => void;
  /** Calls `listener` for each remote track; returns an unsubscribe function. */
  onRemoteTrack(listener: (track: MediaStreamTrack, streams: readonly MediaStream[]) => void): () => void;
  /** Mutes or unmutes the local audio tracks (no renegotiation). */
  setMicEnabled(enabled: boolean): void;
  /** Turns the local video tracks on or off (no renegotiation). */
  setCameraEnabled(enabled: boolean): void;
  /** Sends camera `deviceId` instead of the current camera (`replaceTrack`: no renegotiation); stops the old one. */
  switchCamera(deviceId: string): Promise<void>;
  /** Sends microphone `deviceId` instead of the current one (`replaceTrack`); stops the old one. */
  switchMicrophone(deviceId: string): Promise<void>;
  /**
   * Sends the screen (`getDisplayMedia`) in place of the camera until {@link PeerAdapter.stopScreenShare}
   * or the browser's own "Stop sharing". In a call without a camera the screen goes out on a
   * video transceiver that starts sending, which the machine renegotiates.
   */
  startScreenShare(): Promise<void>;
  /** Sends the camera again. */
  stopScreenShare(): Promise<void>;
  /** Changes the name the other side sees. */
  setDisplayName(name: string): void;
  /** Hangs up and stops the machine; the adapter is unusable afterwards. */
  dispose(): void;
}

/** The chat channel is negotiated out of band with a fixed id, so both sides create it alike. */
const CHAT_CHANNEL = { label: 'chat', id: 0 } as const;

/** Creates the adapter; nothing happens on the network until {@link PeerAdapter.join}. */
export function createPeerAdapter(options: PeerAdapterOptions): PeerAdapter {
  const PeerConnection = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
  if (PeerConnection === undefined) throw new TypeError('No RTCPeerConnection here: pass options.RTCPeerConnection');
  const startBitrate = options.startBitrateKbps ?? DEFAULT_START_BITRATE_KBPS;
  if (startBitrate !== false && (!Number.isInteger(startBitrate) || startBitrate <= 0)) {
    throw new RangeError(`startBitrateKbps is a positive whole number of kbps or false, got ${startBitrate}`);
  }
  // The description sent carries the receiver's wish; the one applied locally stays the browser's.
  const outgoing = (signal: SignalPayload): SignalPayload =>
    startBitrate !== false && (signal.type === 'offer' || signal.type === 'answer')
      ? { type: signal.type, sdp: withStartBitrate(signal.sdp, startBitrate) }
      : signal;
  const warn = options.onWarning ?? (() => {});
  const chatListeners = new Set<(text: string) => void>();
  const trackListeners = new Set<(track: MediaStreamTrack, streams: readonly MediaStream[]) => void>();

  // Resources, not protocol state: the machine decides when each is created and dropped.
  let pc: RTCPeerConnection | undefined;
  let chat: RTCDataChannel | undefined;
  let socket: SignalingSocket | undefined;
  let unbindSocket: (() => void) | undefined;
  let unwatchLink: (() => void) | undefined;

  // One snapshot per event: the transition and what its actions changed (the socket's link) together.
  const send = (event: PeerEvent) => snapshot.batch(() => actor.send(event));

  // The local tracks and the media-state channel (src/client/peer-media.ts): not the machine's.
  const mediaChanged = () => snapshot.update({ local: media.local(), remote: media.remote() });
  const media = createPeerMedia({
    stream: options.localStream,
    displayName: options.displayName ?? '',
    mediaDevices: () => options.mediaDevices ?? globalThis.navigator?.mediaDevices,
    warn,
    onChange: mediaChanged,
  });

  const configuration = (iceServers: readonly IceServer[]): RTCConfiguration => ({
    iceServers: iceServers.map((server) => ({
      ...server,
      urls: typeof server.urls === 'string' ? server.urls : [...server.urls],
    })),
    iceTransportPolicy: options.iceTransportPolicy ?? 'all',
    // One transport for audio, video and chat: ICE gathers, trickles and checks one set of
    // candidates instead of one per media section, so the call connects sooner. Every current
    // browser bundles, the original example's page included.
    bundlePolicy: 'max-bundle',
  });

  const construct = (iceServers: readonly IceServer[]): RTCPeerConnection => {
    try {
      return new PeerConnection(configuration(iceServers));
    } catch (error) {
      // A malformed ICE server URL throws (SyntaxError); host candidates still work without it.
      warn('the ICE servers were refused; continuing without them', error);
      return new PeerConnection(configuration([]));
    }
  };

  // Inspection is opt-in: without it the adapter sends nothing more than the signaling protocol.
  const inspection =
    options.inspect === undefined || options.inspect === false
      ? undefined
      : createInspectionPublisher({ onWarning: warn, ...(options.inspect === true ? {} : options.inspect) });

  const dropSocket = () => {
    const open = socket;
    inspection?.detach();
    unbindSocket?.();
    unwatchLink?.();
    unwatchLink = undefined;
    snapshot.update({ signaling: 'disconnected' });
    socket = undefined;
    unbindSocket = undefined;
    return open;
  };

  const openPeerConnection = (iceServers: readonly IceServer[]) => {
    const connection = construct(iceServers);
    const current = () => connection === pc;
    connection.onicecandidate = ({ candidate }) => {
      if (current())
        send({ type: 'pc.localCandidate', candidate: candidate === null ? null : candidateJson(candidate) });
    };
    connection.onnegotiationneeded = () => {
      if (current()) send({ type: 'pc.negotiationNeeded' });
    };
    connection.onconnectionstatechange = () => {
      if (!current()) return;
      const event = CONNECTION_EVENTS[connection.connectionState];
      if (event !== undefined) send({ type: event });
    };
    connection.ontrack = ({ track, streams }) => {
      if (!current()) return;
      media.addRemoteTrack(track);
      for (const listener of trackListeners) listener(track, streams);
    };
    pc = connection;
    media.attach(connection);
  };

  const closePeerConnection = () => {
    const connection = pc;
    pc = undefined;
    chat = undefined;
    media.detach();
    connection?.close();
  };

  /**
   * Opens the chat channel on the first description that can carry it: our own offer, or a
   * remote offer that has a data section. Never earlier: a channel on a connection whose remote
   * peer offered no data section would need a renegotiation of its own, and peers like the
   * original example's page answer every offer with a brand new connection.
   */
  const openChat = (connection: RTCPeerConnection) => {
    if (chat !== undefined) return;
    const channel = connection.createDataChannel(CHAT_CHANNEL.label, { negotiated: true, id: CHAT_CHANNEL.id });
    channel.onmessage = ({ data }) => {
      if (typeof data === 'string') for (const listener of chatListeners) listener(data);
    };
    chat = channel;
    media.openChannel(connection);
  };

  const requirePc = (): RTCPeerConnection => {
    if (pc === undefined) throw new Error('no peer connection');
    return pc;
  };

  const machine = peerMachine.provide({
    actions: {
      joinRoom: () => {
        dropSocket()?.disconnect(); // e.g. the socket a full room refused
        const opened = options.connectSocket({
          ...(options.room === undefined ? {} : { room: options.room }),
          ...(options.secret === undefined ? {} : { secret: options.secret }),
        });
        socket = opened;
        const unbind = bindSignaling(opened, send, (error: SignalingError) => warn(error.message, error));
        // A reconnection after a server restart presents this token and resumes the call as it is.
        const forgetToken = keepResumeToken(opened);
        unbindSocket = () => {
          unbind();
          forgetToken();
        };
        inspection?.attach(opened);
        unwatchLink = watchSignalingLink(opened, (signaling) => snapshot.update({ signaling }));
      },
      leaveRoom: () => {
        const open = dropSocket();
        if (open === undefined) return;
        if (open.connected) open.emit('leave');
        open.disconnect();
      },
      createPeerConnection: (_, { iceServers }) => openPeerConnection(iceServers),
      resetPeerConnection: (_, { iceServers }) => {
        closePeerConnection();
        openPeerConnection(iceServers);
      },
      closePeerConnection,
      applyIceServers: (_, { iceServers }) => {
        try {
          pc?.setConfiguration(configuration(iceServers));
        } catch (error) {
          warn('the ICE servers were refused; keeping the previous ones', error);
        }
      },
      sendSignal: (_, { signal }) => {
        socket?.emit('data', outgoing(signal));
      },
      restartIce: () => pc?.restartIce(),
      reportFailure: (_, { effect, error }) => warn(`${effect} failed`, error),
    },
    actors: {
      createDescription: fromPromise<DescriptionSignal, LocalDescriptionRequest>(async ({ input }) => {
        const connection = requirePc();
        if (input.type === 'answer') return descriptionSignal(await connection.createAnswer());
        openChat(connection);
        return descriptionSignal(await connection.createOffer(input.iceRestart ? { iceRestart: true } : {}));
      }),
      setLocalDescription: fromPromise<void, DescriptionSignal>(async ({ input }) => {
        await requirePc().setLocalDescription({ type: input.type, sdp: input.sdp });
      }),
      setRemoteDescription: fromPromise<void, DescriptionSignal>(async ({ input }) => {
        const connection = requirePc();
        if (input.type === 'offer' && /^m=application /m.test(input.sdp)) openChat(connection);
        await connection.setRemoteDescription({ type: input.type, sdp: input.sdp });
      }),
      addIceCandidate: fromPromise<void, CandidateRequest>(async ({ input }) => {
        // No argument means end-of-candidates (https://w3c.github.io/webrtc-pc/#dom-peerconnection-addicecandidate).
        const connection = requirePc();
        await (input.candidate === null
          ? connection.addIceCandidate()
          : connection.addIceCandidate({ ...input.candidate }));
      }),
    },
  });

  const actor = createActor(machine, {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(inspection === undefined ? {} : { inspect: inspection.observe('peer') }),
  });
  actor.start();

  // The one place the snapshot is recomputed (src/client/call-snapshot.ts): the machine's part
  // here, the signaling link's in joinRoom/dropSocket, the media's where the tracks change.
  // The machine's actions, which use it, run only on user events, after this line.
  const snapshot = createCallStore({
    call: callStatus(actor.getSnapshot()),
    signaling: 'disconnected',
    local: NO_MEDIA,
    remote: NO_MEDIA,
    mediaError: undefined,
  });
  actor.subscribe(() => snapshot.update({ call: callStatus(actor.getSnapshot()) }));

  // Every local track is stopped once the call is over or the room refused us (the camera light
  // goes off); the next join gets them again before it joins.
  actor.subscribe((peer) => {
    const { status } = callStatus(peer);
    if (status === 'closed' || status === 'rejected') media.release();
  });
  const joinWithMedia = (event: PeerEvent) => {
    if (!media.released) return send(event);
    void media.reacquire().then(() => send(event));
  };
  const mediaAction = (action: () => Promise<void>) =>
    action().then(
      () => snapshot.update({ mediaError: undefined }),
      (error: unknown) => {
        snapshot.update({ mediaError: mediaError(error) });
        throw error;
      },
    );
  mediaChanged();

  return {
    actor,
    getSnapshot: snapshot.getSnapshot,
    getState: snapshot.getSnapshot,
    subscribe: snapshot.subscribe,
    join: () => joinWithMedia({ type: 'user.join' }),
    rejoin: () => joinWithMedia({ type: 'user.rejoin' }),
    hangUp: () => send({ type: 'user.hangUp' }),
    sendChat(text) {
      if (chat?.readyState !== 'open') return false;
      chat.send(text);
      return true;
    },
    onChat(listener) {
      chatListeners.add(listener);
      return () => chatListeners.delete(listener);
    },
    onRemoteTrack(listener) {
      trackListeners.add(listener);
      return () => trackListeners.delete(listener);
    },
    setMicEnabled: (enabled) => media.setMicEnabled(enabled),
    setCameraEnabled: (enabled) => media.setCameraEnabled(enabled),
    switchCamera: (deviceId) => mediaAction(() => media.switchCamera(deviceId)),
    switchMicrophone: (deviceId) => mediaAction(() => media.switchMicrophone(deviceId)),
    startScreenShare: () => mediaAction(() => media.startScreenShare()),
    stopScreenShare: () => mediaAction(() => media.stopScreenShare()),
    setDisplayName: (name) => media.setDisplayName(name),
    dispose() {
      send({ type: 'user.hangUp' });
      media.release();
      actor.stop();
      inspection?.stop();
      chatListeners.clear();
      trackListeners.clear();
      snapshot.clear();
    },
  };
}

const CONNECTION_EVENTS: Partial<Record<RTCPeerConnectionState, 'pc.connected' | 'pc.disconnected' | 'pc.iceFailed'>> =
  {
    connected: 'pc.connected',
    disconnected: 'pc.disconnected',
    failed: 'pc.iceFailed',
  };

function candidateJson(candidate: RTCIceCandidate): IceCandidateJson {
  const init = candidate.toJSON();
  return {
    candidate: init.candidate ?? '',
    sdpMid: init.sdpMid ?? null,
    sdpMLineIndex: init.sdpMLineIndex ?? null,
    usernameFragment: init.usernameFragment ?? null,
  };
}

function descriptionSignal(description: RTCSessionDescriptionInit): DescriptionSignal {
  if ((description.type !== 'offer' && description.type !== 'answer') || description.sdp === undefined) {
    throw new Error(`unexpected local description: ${description.type}`);
  }
  return { type: description.type, sdp: description.sdp };
}
