/**
 * The media side of a call, for the peer adapter: the local camera, microphone and screen
 * tracks, the senders they ride on, and the small media-state message each side sends the other
 * (camera off, muted, audio only, sharing its screen, its display name). Adapter and UI state,
 * not protocol: the peer machine never sees it.
 *
 * Switching a device or sharing the screen swaps the outgoing track with
 * `RTCRtpSender.replaceTrack`, which needs no renegotiation
 * (https://w3c.github.io/webrtc-pc/#dom-rtcrtpsender-replacetrack). A call without a camera has
 * no video to replace: there a shared screen goes out on a video transceiver that starts
 * sending (the one the other side's offer brought, or a new one), which the machine renegotiates
 * like any `negotiationneeded`; when sharing stops the transceiver goes back to receiving only.
 * Hanging up, a refused join and disposing stop every local track (the camera light goes off);
 * the next join gets them again with the same devices.
 */
import type { MediaState } from './call-snapshot.js';

/** Whether a device is sending: on, off (muted / camera off) or absent from the call. */
export type DeviceState = 'on' | 'off' | 'none';

/** The media-state message one side sends the other (camera off, muted, audio only, ...). */
export interface MediaStateMessage {
  /** The display name the person chose; empty if none. */
  readonly name: string;
  /** `none`: the call is audio only (no camera, or camera refused). */
  readonly camera: DeviceState;
  readonly microphone: DeviceState;
  /** The outgoing video is a screen, window or tab instead of the camera. */
  readonly screenSharing: boolean;
}

/** The parts of `navigator.mediaDevices` the adapter uses. */
export type MediaDevicesLike = Pick<MediaDevices, 'getUserMedia' | 'getDisplayMedia'>;

/**
 * The media-state channel: negotiated out of band beside the chat channel, so it needs no
 * signaling of its own. A peer without it (an older Parley, the original example's page, which
 * has no data channel at all) never answers on it, and the remote state stays unknown.
 */
export const MEDIA_CHANNEL = { label: 'media', id: 1 } as const;

/** Longest display name sent or accepted (characters). */
export const MAX_DISPLAY_NAME_LENGTH = 64;

const DEVICE_STATES: ReadonlySet<string> = new Set<DeviceState>(['on', 'off', 'none']);

/** The wire form of a media-state message: `{"type":"media-state",...}`. */
export function mediaStateMessage(state: MediaStateMessage): string {
  return JSON.stringify({
    type: 'media-state',
    name: state.name,
    camera: state.camera,
    microphone: state.microphone,
    screenSharing: state.screenSharing,
  });
}

/** Reads a media-state message; undefined if it is not one (not JSON, wrong type or fields). */
export function parseMediaState(data: unknown): MediaStateMessage | undefined {
  if (typeof data !== 'string' || data.length > 4_096) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  const { type, name, camera, microphone, screenSharing } = message;
  if (type !== 'media-state' || typeof name !== 'string' || typeof screenSharing !== 'boolean') return undefined;
  if (typeof camera !== 'string' || !DEVICE_STATES.has(camera)) return undefined;
  if (typeof microphone !== 'string' || !DEVICE_STATES.has(microphone)) return undefined;
  return {
    name: cleanDisplayName(name),
    camera: camera as DeviceState,
    microphone: microphone as DeviceState,
    screenSharing,
  };
}

/** A display name as shown: control characters dropped, spaces collapsed, at most 64 characters. */
export function cleanDisplayName(name: string): string {
  return [
    ...name
      .replace(/[\u0000-\u001f\u007f]/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
  ]
    .slice(0, MAX_DISPLAY_NAME_LENGTH)
    .join('');
}

/** How to build a {@link PeerMedia}. */
export interface PeerMediaOptions {
  /** The local stream the app shows; its tracks are swapped in place on a switch or a share. */
  readonly stream: MediaStream | undefined;
  readonly displayName: string;
  /** Where new tracks come from; `navigator.mediaDevices` in the browser. */
  readonly mediaDevices: () => MediaDevicesLike | undefined;
  readonly warn: (message: string, cause: unknown) => void;
  /** Called after every change of {@link PeerMedia.local} or {@link PeerMedia.remote}. */
  readonly onChange: () => void;
}

/** The local tracks, their senders on the current peer connection, and the media-state channel. */
export interface PeerMedia {
  /** What we send. */
  local(): MediaState;
  /** What the other side sends: from its media-state messages, else from the tracks received. */
  remote(): MediaState;
  /** True from hang-up (or a refused join) until the next join: every local track is stopped. */
  readonly released: boolean;
  /** Adds the local tracks to a new peer connection, keeping their senders. */
  attach(connection: RTCPeerConnection): void;
  /** Opens the media-state channel on `connection`, beside the chat channel. */
  openChannel(connection: RTCPeerConnection): void;
  /** A track the other side sends (the adapter's `ontrack`). */
  addRemoteTrack(track: MediaStreamTrack): void;
  /** Forgets the senders, channel and remote state of the closed connection. */
  detach(): void;
  setMicEnabled(enabled: boolean): void;
  setCameraEnabled(enabled: boolean): void;
  setDisplayName(name: string): void;
  switchCamera(deviceId: string): Promise<void>;
  switchMicrophone(deviceId: string): Promise<void>;
  startScreenShare(): Promise<void>;
  stopScreenShare(): Promise<void>;
  /** Stops every local track (hang-up, refused join, dispose). */
  release(): void;
  /** After {@link release}: gets the same kinds of tracks again, from the same devices if they are still there. */
  reacquire(): Promise<void>;
}

/** Creates the media side of an adapter. */
export function createPeerMedia(options: PeerMediaOptions): PeerMedia {
  const { stream, warn, onChange } = options;
  const initial = stream?.getTracks() ?? [];
  let camera = initial.find((track) => track.kind === 'video');
  let microphone = initial.find((track) => track.kind === 'audio');
  let screen: MediaStreamTrack | undefined;
  let cameraEnabled = camera?.enabled ?? true;
  let micEnabled = microphone?.enabled ?? true;
  let cameraDeviceId = deviceIdOf(camera);
  let microphoneDeviceId = deviceIdOf(microphone);
  let hadCamera = camera !== undefined;
  let hadMicrophone = microphone !== undefined;
  let released = false;
  let name = cleanDisplayName(options.displayName);
  let senders: { audio?: RTCRtpSender; video?: RTCRtpSender } = {};
  let connection: RTCPeerConnection | undefined;
  let channel: RTCDataChannel | undefined;
  let lastSent: string | undefined;
  let remoteMessage: MediaStateMessage | undefined;
  let remoteKinds = new Set<string>();

  const message = (): MediaStateMessage => ({
    name,
    camera: camera === undefined || released ? 'none' : cameraEnabled ? 'on' : 'off',
    microphone: microphone === undefined || released ? 'none' : micEnabled ? 'on' : 'off',
    screenSharing: screen !== undefined,
  });

  const sendState = () => {
    if (channel?.readyState !== 'open') return;
    const text = mediaStateMessage(message());
    if (text === lastSent) return;
    try {
      channel.send(text);
      lastSent = text;
    } catch (error) {
      warn('the media state could not be sent', error);
    }
  };

  const changed = () => {
    sendState();
    onChange();
  };

  /** Puts `next` where `previous` was: in the stream the app shows, and on the sender. */
  const swapTrack = async (kind: 'audio' | 'video', previous: MediaStreamTrack | undefined, next: MediaStreamTrack) => {
    if (previous !== undefined) stream?.removeTrack(previous);
    stream?.addTrack(next);
    const sender = senders[kind];
    if (sender === undefined) return;
    try {
      await sender.replaceTrack(next);
    } catch (error) {
      warn(`replacing the ${kind} track failed`, error);
    }
  };

  const getUserMediaTrack = async (kind: 'audio' | 'video', constraints: MediaTrackConstraints | boolean) => {
    const devices = options.mediaDevices();
    if (devices === undefined) throw new Error('no mediaDevices here (an insecure page?)');
    const got = await devices.getUserMedia(kind === 'audio' ? { audio: constraints } : { video: constraints });
    const track = got.getTracks().find((candidate) => candidate.kind === kind);
    if (track === undefined) throw new Error(`getUserMedia gave no ${kind} track`);
    return track;
  };

  const onScreenEnded = () => {
    // The browser's own "Stop sharing" button ends the track.
    void stopScreenShare();
  };

  const dropScreen = (shared: MediaStreamTrack) => {
    screen = undefined;
    shared.removeEventListener('ended', onScreenEnded);
    shared.stop();
  };

  /**
   * Without a camera: sends `track` on a video transceiver that sends nothing yet (the other
   * side's offer brought one, or an earlier share left one), or on a new one (`addTrack`). Either
   * way the transceiver now sends, which fires `negotiationneeded`.
   */
  const sendWithoutCamera = async (track: MediaStreamTrack) => {
    stream?.addTrack(track);
    const current = connection;
    if (current === undefined) return; // not in a call: the next peer connection takes it from the stream
    const idle = senders.video ?? current.getTransceivers().find(isIdleVideo)?.sender;
    if (idle === undefined) {
      senders.video = current.addTrack(track, ...(stream === undefined ? [] : [stream]));
      return;
    }
    senders.video = idle;
    try {
      await idle.replaceTrack(track);
      // The other side's `ontrack` then names our stream, as for the tracks added with it.
      if (stream !== undefined) idle.setStreams?.(stream);
    } catch (error) {
      warn('sending the screen failed', error);
    }
    const transceiver = transceiverOf(current, idle);
    if (transceiver !== undefined) transceiver.direction = withSending(transceiver.direction, true);
  };

  /** Without a camera: the screen's transceiver sends nothing and goes back to receiving only. */
  const stopSendingWithoutCamera = async (shared: MediaStreamTrack) => {
    stream?.removeTrack(shared);
    const sender = senders.video;
    if (sender === undefined || connection === undefined) return;
    const transceiver = transceiverOf(connection, sender);
    if (transceiver !== undefined) transceiver.direction = withSending(transceiver.direction, false);
    try {
      await sender.replaceTrack(null);
    } catch (error) {
      warn('stopping the screen failed', error);
    }
  };

  const stopScreenShare = async () => {
    const shared = screen;
    if (shared === undefined) return;
    dropScreen(shared);
    if (camera !== undefined) await swapTrack('video', shared, camera);
    else await stopSendingWithoutCamera(shared);
    changed();
  };

  const switchDevice = async (kind: 'audio' | 'video', deviceId: string) => {
    if (released) {
      // Hung up: the next join uses this device.
      if (kind === 'video') cameraDeviceId = deviceId;
      else microphoneDeviceId = deviceId;
      return;
    }
    const previous = kind === 'video' ? camera : microphone;
    if (previous === undefined) throw new Error(`no ${kind === 'video' ? 'camera' : 'microphone'} in this call`);
    const next = await getUserMediaTrack(kind, { deviceId: { exact: deviceId } });
    if (released || previous !== (kind === 'video' ? camera : microphone)) {
      next.stop(); // hung up, or switched again, meanwhile
      return;
    }
    if (kind === 'video') {
      next.enabled = cameraEnabled;
      camera = next;
      cameraDeviceId = deviceIdOf(next) ?? deviceId;
      // While the screen is shared the camera waits aside; it comes back when sharing stops.
      if (screen === undefined) await swapTrack('video', previous, next);
    } else {
      next.enabled = micEnabled;
      microphone = next;
      microphoneDeviceId = deviceIdOf(next) ?? deviceId;
      await swapTrack('audio', previous, next);
    }
    previous.stop();
    changed();
  };

  return {
    local() {
      const sent = message();
      return {
        audio: sent.microphone === 'on',
        video: sent.camera === 'on' || sent.screenSharing,
        screen: sent.screenSharing,
        hasCamera: sent.camera !== 'none',
        hasMicrophone: sent.microphone !== 'none',
        name,
      };
    },
    remote() {
      if (remoteMessage === undefined) {
        // A peer that sends no media state (the original example's page): what its tracks say.
        const audio = remoteKinds.has('audio');
        const video = remoteKinds.has('video');
        return { audio, video, screen: false, hasCamera: video, hasMicrophone: audio, name: '' };
      }
      const { camera: theirCamera, microphone: theirMicrophone, screenSharing } = remoteMessage;
      return {
        audio: theirMicrophone === 'on',
        video: theirCamera === 'on' || screenSharing,
        screen: screenSharing,
        hasCamera: theirCamera !== 'none',
        hasMicrophone: theirMicrophone !== 'none',
        name: remoteMessage.name,
      };
    },
    get released() {
      return released;
    },
    attach(next) {
      senders = {};
      connection = next;
      if (stream === undefined) return;
      for (const track of stream.getTracks()) {
        const sender = next.addTrack(track, stream);
        if (track.kind === 'audio' || track.kind === 'video') senders[track.kind] = sender;
      }
    },
    openChannel(connection) {
      const opened = connection.createDataChannel(MEDIA_CHANNEL.label, { negotiated: true, id: MEDIA_CHANNEL.id });
      channel = opened;
      lastSent = undefined;
      opened.onopen = () => {
        if (opened === channel) sendState();
      };
      opened.onmessage = ({ data }) => {
        if (opened !== channel) return;
        const state = parseMediaState(data);
        if (state === undefined) {
          warn('ignored a malformed media-state message', data);
          return;
        }
        remoteMessage = state;
        onChange();
      };
    },
    addRemoteTrack(track) {
      if (remoteKinds.has(track.kind)) return;
      remoteKinds = new Set([...remoteKinds, track.kind]);
      onChange();
    },
    detach() {
      senders = {};
      connection = undefined;
      channel = undefined;
      lastSent = undefined;
      remoteMessage = undefined;
      remoteKinds = new Set();
      onChange();
    },
    setMicEnabled(enabled) {
      micEnabled = enabled;
      if (microphone !== undefined) microphone.enabled = enabled;
      changed();
    },
    setCameraEnabled(enabled) {
      cameraEnabled = enabled;
      if (camera !== undefined) camera.enabled = enabled;
      changed();
    },
    setDisplayName(next) {
      name = cleanDisplayName(next);
      changed();
    },
    switchCamera: (deviceId) => switchDevice('video', deviceId),
    switchMicrophone: (deviceId) => switchDevice('audio', deviceId),
    async startScreenShare() {
      if (screen !== undefined) return;
      if (released) throw new Error('the call is over: join again to share the screen');
      const devices = options.mediaDevices();
      if (devices?.getDisplayMedia === undefined) throw new Error('this browser cannot share the screen');
      const display = await devices.getDisplayMedia({ video: true, audio: false });
      const track = display.getVideoTracks()[0];
      if (track === undefined) throw new Error('getDisplayMedia gave no video track');
      if (released || screen !== undefined) {
        track.stop(); // hung up, or shared twice, meanwhile
        return;
      }
      screen = track;
      track.addEventListener('ended', onScreenEnded);
      if (camera !== undefined) await swapTrack('video', camera, track);
      else await sendWithoutCamera(track);
      changed();
    },
    stopScreenShare,
    release() {
      if (released) return;
      released = true;
      if (screen !== undefined) {
        stream?.removeTrack(screen);
        dropScreen(screen);
        if (camera !== undefined) stream?.addTrack(camera);
      }
      hadCamera = camera !== undefined;
      hadMicrophone = microphone !== undefined;
      camera?.stop();
      microphone?.stop();
      changed();
    },
    async reacquire() {
      if (!released) return;
      const wanted: ['audio' | 'video', string | undefined][] = [];
      if (hadMicrophone) wanted.push(['audio', microphoneDeviceId]);
      if (hadCamera) wanted.push(['video', cameraDeviceId]);
      for (const [kind, deviceId] of wanted) {
        const previous = kind === 'video' ? camera : microphone;
        if (previous !== undefined) stream?.removeTrack(previous);
        let track: MediaStreamTrack | undefined;
        try {
          // `ideal`, not `exact`: if that device is gone, another will do.
          track = await getUserMediaTrack(kind, deviceId === undefined ? true : { deviceId: { ideal: deviceId } });
          track.enabled = kind === 'video' ? cameraEnabled : micEnabled;
          stream?.addTrack(track);
        } catch (error) {
          warn(`the ${kind === 'video' ? 'camera' : 'microphone'} could not be started again`, error);
        }
        if (kind === 'video') {
          camera = track;
          cameraDeviceId = deviceIdOf(track) ?? deviceId;
        } else {
          microphone = track;
          microphoneDeviceId = deviceIdOf(track) ?? deviceId;
        }
      }
      released = false;
      changed();
    },
  };
}

/** A video transceiver that sends nothing and may: one a remote offer brought, or a share left. */
function isIdleVideo(transceiver: RTCRtpTransceiver): boolean {
  return (
    transceiver.receiver.track.kind === 'video' &&
    transceiver.sender.track === null &&
    transceiver.direction !== 'stopped' &&
    transceiver.currentDirection !== 'stopped'
  );
}

function transceiverOf(connection: RTCPeerConnection, sender: RTCRtpSender): RTCRtpTransceiver | undefined {
  return connection.getTransceivers().find((transceiver) => transceiver.sender === sender);
}

/** `direction` with sending turned on or off, receiving as it was. */
function withSending(direction: RTCRtpTransceiverDirection, send: boolean): RTCRtpTransceiverDirection {
  if (direction === 'stopped') return direction;
  const receives = direction === 'sendrecv' || direction === 'recvonly';
  if (send) return receives ? 'sendrecv' : 'sendonly';
  return receives ? 'recvonly' : 'inactive';
}

function deviceIdOf(track: MediaStreamTrack | undefined): string | undefined {
  const id = track?.getSettings().deviceId;
  return id === undefined || id === '' ? undefined : id;
}
