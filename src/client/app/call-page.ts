/**
 * The Parley web app's call page, the part loaded after the first chunk (main.ts): it hands the
 * camera and microphone and the signaling connection that main.ts started to the peer adapter
 * (src/client/peer-adapter.ts), and renders what the adapter reports: the call state, remote
 * video, chat and notices. Every call decision is the peer machine's.
 */
import { createPeerAdapter, type PeerAdapter } from '../peer-adapter.js';
import type { SignalingSocketFactory } from '../signaling-client.js';
import type { CallStatus, CallStatusName } from '../../machines/peer-status.js';
import { MAX_ICE_RESTARTS } from '../../machines/peer-machine.js';
import { callStateText, rawStateText } from './call-state-text.js';
import { bindChatPanel, type ChatPanel } from './chat-panel.js';
import { createChatView } from './chat-view.js';
import { copyLink } from './copy-link.js';
import { setAttribute, setData, setDisabled, setHidden, setText } from './dom-writes.js';
import type { LocalMedia } from './local-media.js';
import { bindMediaControls } from './media-controls.js';
import { createNotices, type Notices } from './notices.js';
import { newRoomLink, roomLink, type RoomFromLink } from './room-link.js';
import { bindShortcuts, shortcutsHelp } from './shortcuts.js';
import { watchSignaling, type SignalingLink } from './signaling-status.js';
import { showSelfView } from './self-view.js';
import { showStartFailure } from './start-failure.js';
import { storedDisplayName } from './stored-choices.js';

/** The element with `data-testid="<id>"`; the page's markup guarantees each exists. */
function byTestId<T extends HTMLElement>(id: string): T {
  const element = document.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`index.html lacks data-testid="${id}"`);
  return element;
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html lacks #${id}`);
  return element as T;
}

const ui = {
  call: byId<HTMLElement>('call'),
  remoteVideo: byTestId<HTMLVideoElement>('remote-video'),
  localVideo: byTestId<HTMLVideoElement>('local-video'),
  callState: byTestId<HTMLElement>('call-state'),
  roomName: byId<HTMLElement>('room-name'),
  notices: byTestId<HTMLElement>('notice'),
  toggleMic: byTestId<HTMLButtonElement>('toggle-mic'),
  toggleCamera: byTestId<HTMLButtonElement>('toggle-camera'),
  hangUp: byTestId<HTMLButtonElement>('hang-up'),
  rejoin: byTestId<HTMLButtonElement>('rejoin'),
  copyLink: byTestId<HTMLButtonElement>('copy-link'),
  chatToggle: byId<HTMLButtonElement>('chat-toggle'),
  chatClose: byId<HTMLButtonElement>('chat-close'),
  chatBadge: byId<HTMLElement>('chat-badge'),
  chatLog: byTestId<HTMLOListElement>('chat-log'),
  chatForm: byId<HTMLFormElement>('chat-form'),
  chatInput: byTestId<HTMLInputElement>('chat-input'),
  media: {
    shareScreen: byTestId<HTMLButtonElement>('share-screen'),
    settingsToggle: byTestId<HTMLButtonElement>('settings'),
    settings: byTestId<HTMLElement>('settings-panel'),
    settingsClose: byId<HTMLButtonElement>('settings-close'),
    displayName: byTestId<HTMLInputElement>('display-name'),
    cameraSelect: byTestId<HTMLSelectElement>('camera-select'),
    microphoneSelect: byTestId<HTMLSelectElement>('microphone-select'),
    remoteInfo: byTestId<HTMLElement>('remote-info'),
    remoteName: byTestId<HTMLElement>('remote-name'),
  },
};

/** Statuses in which there is another peer (so remote media may be shown). */
const IN_CALL: ReadonlySet<CallStatusName> = new Set(['connecting', 'connected', 'reconnecting']);
/** Statuses in which we are in the room, or on the way there. */
const IN_ROOM: ReadonlySet<CallStatusName> = new Set(['joining', 'waiting', 'connecting', 'connected', 'reconnecting']);

/** What the first chunk (main.ts) started for a room link: the camera and microphone, and the signaling connection. */
export interface EarlyStart {
  readonly media: Promise<LocalMedia>;
  readonly signaling: Promise<SignalingSocketFactory>;
}

/**
 * Runs the page for `link` once the document is parsed: says why a link that names no valid
 * room joins nothing, or joins the room with what main.ts started. A failure is shown on the page.
 */
export function startCallPage(link: RoomFromLink, early: EarlyStart | undefined): void {
  start(link, early).catch(showStartFailure);
}

async function start(link: RoomFromLink, early: EarlyStart | undefined): Promise<void> {
  const notices = createNotices(ui.notices);
  if (link.kind === 'invalid') {
    showInvalidRoom(link.given, link.suggestion, notices);
    return;
  }
  if (early === undefined) throw new Error('the camera and the connection were not started for this room');
  const { room, secret } = link;
  ui.roomName.textContent = `Room ${room}`;
  document.title = `Parley · ${room}`;
  ui.callState.textContent = 'Starting camera and microphone';

  const [media, signaling] = await Promise.all([early.media, early.signaling]);
  const params = new URLSearchParams(location.search);
  let signalingLink: SignalingLink = { state: 'connecting' };
  let reconnectedSinceCall = false;
  const adapter = createPeerAdapter({
    room,
    secret,
    localStream: media.stream,
    connectSocket: watchSignaling(signaling, (next) => {
      if (next.state === 'connected' && signalingLink.state === 'reconnecting') reconnectedSinceCall = true;
      signalingLink = next;
      showSignalingLink(signalingLink, notices);
    }),
    iceTransportPolicy: params.get('policy') === 'relay' ? 'relay' : 'all',
    onWarning: (message, cause) => console.warn(`parley: ${message}`, cause),
    // `?inspect`: show this tab's machines in the live inspector, if the server runs with --inspect.
    inspect: params.has('inspect'),
    displayName: storedDisplayName(),
  });
  // Join first. The socket may have joined the room while the camera started (main.ts); what
  // the server sent it since (`role`, often the other peer's offer) reaches the machine now: one
  // microtask, before the page below is wired, so that the peer connection applies the offer
  // while the page is wired and the self-view started. Nothing else arrives meanwhile: a
  // message or a track is a task of its own, after this function returns. Leaving the page
  // leaves the room at once, so the other side is told without waiting for a timeout.
  addEventListener('pagehide', () => adapter.hangUp());
  adapter.join();
  await Promise.resolve();

  showLocalMedia(media, notices);
  bindRemoteMedia(adapter, notices);
  bindControls(adapter, media, notices);
  const chat = bindChat(adapter);
  bindShortcuts({
    m: () => ui.toggleMic.click(),
    v: () => ui.toggleCamera.click(),
    h: () => ui.hangUp.click(),
    c: () => chat.setOpen(!chat.isOpen()),
    '?': () =>
      notices.show('help', { kind: 'shortcuts', tone: 'info', text: `Keys: ${shortcutsHelp()}.`, timeoutMs: 10_000 }),
  });
  bindMediaControls({ ...ui.media, call: ui.call, localVideo: ui.localVideo }, adapter, media.stream, notices);

  let previous: CallStatus | undefined;
  adapter.subscribe((call) => {
    renderCall(call, previous, notices, reconnectedSinceCall);
    if (call.status === 'connected' || call.status === 'connecting') reconnectedSinceCall = false;
    previous = call;
  });
  adapter.actor.subscribe((snapshot) => {
    setData(ui.callState, 'state', rawStateText(snapshot.value));
  });
  setData(ui.callState, 'state', rawStateText(adapter.actor.getSnapshot().value));
}

/** The link's room is no room name: say so, suggest a valid one, and join nothing. */
function showInvalidRoom(given: string, suggestion: string, notices: Notices): void {
  ui.call.dataset['status'] = 'invalid-room';
  ui.callState.textContent = 'Not a valid room name';
  ui.callState.dataset['status'] = 'invalid-room';
  ui.roomName.textContent = '';
  for (const button of [ui.toggleMic, ui.toggleCamera, ui.hangUp, ui.rejoin, ui.copyLink]) button.disabled = true;
  notices.show('call', {
    kind: 'bad-room',
    tone: 'warning',
    text: `“${given.slice(0, 80)}” is not a valid room name: use 1 to 64 letters, digits, “_” or “-”.`,
    link: { href: roomLink(location, suggestion), text: `Go to room “${suggestion}”` },
  });
}

function showLocalMedia(media: LocalMedia, notices: Notices): void {
  const hasVideo = (media.stream?.getVideoTracks().length ?? 0) > 0;
  const hasAudio = (media.stream?.getAudioTracks().length ?? 0) > 0;
  setData(ui.call, 'media', media.mode);
  showSelfView(media.stream); // main.ts has usually shown it already
  setHidden(ui.localVideo, !hasVideo);
  setDisabled(ui.toggleCamera, !hasVideo);
  setDisabled(ui.toggleMic, !hasAudio);
  setPressed(ui.toggleCamera, hasVideo, 'Camera');
  setPressed(ui.toggleMic, hasAudio, 'Mic');
  if (media.message === undefined) return;
  const kind =
    media.problem === 'insecure'
      ? 'insecure'
      : media.mode === 'audio-only'
        ? media.problem === 'denied'
          ? 'camera-denied'
          : media.problem === 'not-found'
            ? 'no-camera'
            : 'media-error'
        : media.problem === 'denied'
          ? 'media-denied'
          : media.problem === 'not-found'
            ? 'no-media'
            : 'media-error';
  notices.show('media', { kind, tone: 'warning', text: media.message });
}

function showSignalingLink(link: SignalingLink, notices: Notices): void {
  if (link.state !== 'reconnecting') {
    notices.clear('signaling');
    return;
  }
  const attempt = link.attempt > 0 ? ` (attempt ${link.attempt})` : '';
  if (link.reason === 'transport close' || link.reason === 'ping timeout' || link.reason === 'transport error') {
    notices.show('signaling', {
      kind: 'signaling-lost',
      tone: 'warning',
      text: `Lost the connection to the server. Reconnecting${attempt}… An ongoing call continues meanwhile.`,
    });
  } else {
    notices.show('signaling', {
      kind: 'signaling-unreachable',
      tone: 'warning',
      text: `Cannot reach the server. Retrying${attempt}…`,
    });
  }
}

function renderCall(call: CallStatus, previous: CallStatus | undefined, notices: Notices, reconnected: boolean): void {
  setText(ui.callState, callStateText(call));
  setData(ui.callState, 'status', call.status);
  setData(ui.callState, 'restarts', String(call.restartAttempts));
  setData(ui.call, 'status', call.status);
  setDisabled(ui.hangUp, !IN_ROOM.has(call.status));
  setDisabled(ui.rejoin, call.status === 'idle');

  if (!IN_CALL.has(call.status)) clearRemoteVideo();
  const wasInCall = previous !== undefined && IN_CALL.has(previous.status);

  switch (call.status) {
    case 'waiting':
      if (wasInCall && reconnected) {
        notices.show('call', {
          kind: 'call-reset',
          tone: 'info',
          text: 'Back online. The call was reset: waiting for the other person to reconnect.',
        });
      } else if (wasInCall) {
        notices.show('call', {
          kind: 'peer-left',
          tone: 'info',
          text: 'The other person left the call. Share the link to invite someone.',
        });
      }
      break;
    case 'connecting':
    case 'connected':
    case 'joining':
      notices.clear('call');
      break;
    case 'rejected':
      if (call.error?.code === 'room-full') {
        notices.show('call', {
          kind: 'room-full',
          tone: 'error',
          text: 'This room is full: two people are already in a call here.',
          link: { href: newRoomLink(location), text: 'Start a new room' },
        });
      } else {
        notices.show('call', {
          kind: 'rejected',
          tone: 'error',
          text: `Could not join the room: ${call.error?.message ?? 'refused by the server'}.`,
        });
      }
      break;
    case 'failed':
      notices.show('call', {
        kind: 'call-failed',
        tone: 'error',
        text: `The call dropped and could not be reconnected after ${MAX_ICE_RESTARTS} tries. Check your network, then press Rejoin.`,
      });
      break;
    case 'closed':
      notices.show('call', {
        kind: 'call-ended',
        tone: 'info',
        text: 'You left the call. Press Rejoin to join the room again.',
      });
      break;
    default:
      break;
  }
}

let remoteStream: MediaStream | undefined;

function clearRemoteVideo(): void {
  remoteStream = undefined;
  if (ui.remoteVideo.srcObject !== null) ui.remoteVideo.srcObject = null;
  ui.call.classList.toggle('has-remote', false);
}

function bindRemoteMedia(adapter: PeerAdapter, notices: Notices): void {
  adapter.onRemoteTrack((track, streams) => {
    const stream = streams[0] ?? remoteStream ?? new MediaStream();
    if (streams[0] === undefined && !stream.getTracks().includes(track)) stream.addTrack(track);
    remoteStream = stream;
    if (ui.remoteVideo.srcObject !== stream) ui.remoteVideo.srcObject = stream;
    playRemote(notices);
  });
  ui.remoteVideo.addEventListener('loadeddata', () => ui.call.classList.toggle('has-remote', true));
}

/** Starts remote playback; where autoplay with sound is refused, plays muted until the first tap. */
function playRemote(notices: Notices): void {
  ui.remoteVideo.play().catch((error: unknown) => {
    if (!(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
    ui.remoteVideo.muted = true;
    void ui.remoteVideo.play().catch(() => {});
    notices.show('sound', { kind: 'sound-blocked', tone: 'info', text: 'Tap anywhere to hear the other person.' });
    document.addEventListener(
      'pointerdown',
      () => {
        ui.remoteVideo.muted = false;
        void ui.remoteVideo.play().catch(() => {});
        notices.clear('sound');
      },
      { once: true },
    );
  });
}

function setPressed(button: HTMLButtonElement, on: boolean, name: string): void {
  setAttribute(button, 'aria-pressed', String(on));
  button.classList.toggle('off', !on);
  const label = button.querySelector('.label');
  if (label !== null) setText(label, on ? name : `${name} off`);
  const key = button.getAttribute('aria-keyshortcuts');
  setAttribute(button, 'title', `Turn ${name.toLowerCase()} ${on ? 'off' : 'on'}${key === null ? '' : ` (${key})`}`);
}

function bindControls(adapter: PeerAdapter, media: LocalMedia, notices: Notices): void {
  let micOn = (media.stream?.getAudioTracks().length ?? 0) > 0;
  let cameraOn = (media.stream?.getVideoTracks().length ?? 0) > 0;
  ui.toggleMic.addEventListener('click', () => {
    micOn = !micOn;
    adapter.setMicEnabled(micOn);
    setPressed(ui.toggleMic, micOn, 'Mic');
  });
  ui.toggleCamera.addEventListener('click', () => {
    cameraOn = !cameraOn;
    adapter.setCameraEnabled(cameraOn);
    setPressed(ui.toggleCamera, cameraOn, 'Camera');
    ui.call.classList.toggle('camera-off', !cameraOn);
  });
  ui.hangUp.addEventListener('click', () => adapter.hangUp());
  ui.rejoin.addEventListener('click', () => adapter.rejoin());
  ui.copyLink.addEventListener('click', () => void copyLink(location.href, notices));
}

function bindChat(adapter: PeerAdapter): ChatPanel {
  const chat = createChatView({ log: ui.chatLog, form: ui.chatForm, input: ui.chatInput }, (text) =>
    adapter.sendChat(text),
  );
  const panel = bindChatPanel({
    root: document.documentElement,
    toggle: ui.chatToggle,
    close: ui.chatClose,
    badge: ui.chatBadge,
    input: ui.chatInput,
  });
  adapter.onChat((text) => {
    chat.append('peer', text);
    panel.messageArrived();
  });
  return panel;
}
