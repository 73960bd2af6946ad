/**
 * The media controls beside the call: screen sharing, a settings panel (display name, camera
 * and microphone) that opens at any time and never stands between a room link and the call, and
 * the other person's media state on the remote tile (camera off, muted, audio only, sharing
 * screen, their name). The choices are remembered in localStorage for the next call.
 */
import type { CallSnapshot } from '../call-snapshot.js';
import type { PeerAdapter } from '../peer-adapter.js';
import { setAttribute, setData, setDisabled, setHidden, setText } from './dom-writes.js';
import type { Notices } from './notices.js';
import { showSelfView } from './self-view.js';
import { readChoice, rememberChoice, storedDisplayName, type StoredChoice } from './stored-choices.js';

/** Statuses in which the other person is there to be described. */
const WITH_PEER: ReadonlySet<string> = new Set(['connected', 'reconnecting']);

/** The elements the controls live in (index.html). */
export interface MediaControlsElements {
  readonly call: HTMLElement;
  readonly localVideo: HTMLVideoElement;
  readonly shareScreen: HTMLButtonElement;
  readonly settingsToggle: HTMLButtonElement;
  readonly settings: HTMLElement;
  readonly settingsClose: HTMLButtonElement;
  readonly displayName: HTMLInputElement;
  readonly cameraSelect: HTMLSelectElement;
  readonly microphoneSelect: HTMLSelectElement;
  readonly remoteInfo: HTMLElement;
  readonly remoteName: HTMLElement;
}

/** Wires the screen share button, the settings panel and the remote media state to `adapter`. */
export function bindMediaControls(
  ui: MediaControlsElements,
  adapter: PeerAdapter,
  stream: MediaStream | undefined,
  notices: Notices,
): void {
  const devices: MediaDevices | undefined = navigator.mediaDevices;
  ui.displayName.value = storedDisplayName();

  // The screen goes out in place of the camera, or, in a call without one, as the call's video.
  const canShare = typeof devices?.getDisplayMedia === 'function';
  ui.shareScreen.hidden = !canShare;
  ui.shareScreen.addEventListener('click', () => {
    const sharing = adapter.getSnapshot().local.screen;
    (sharing ? adapter.stopScreenShare() : adapter.startScreenShare()).catch((error: unknown) => {
      // Cancelling the browser's picker is a NotAllowedError: nothing to say.
      if (error instanceof DOMException && error.name === 'NotAllowedError') return;
      notices.show('media', {
        kind: 'media-error',
        tone: 'warning',
        text: `Could not share the screen: ${messageOf(error)}`,
      });
    });
  });

  const setSettingsOpen = (open: boolean) => {
    ui.settings.hidden = !open;
    ui.settingsToggle.setAttribute('aria-expanded', String(open));
    if (open) void fillDevices();
  };
  ui.settingsToggle.addEventListener('click', () => setSettingsOpen(ui.settings.hasAttribute('hidden')));
  ui.settingsClose.addEventListener('click', () => setSettingsOpen(false));
  ui.settings.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') setSettingsOpen(false);
  });

  ui.displayName.addEventListener('input', () => {
    adapter.setDisplayName(ui.displayName.value);
    rememberChoice('name', ui.displayName.value.trim());
  });

  const currentDevice = (kind: 'audio' | 'video'): string | undefined =>
    stream
      ?.getTracks()
      .find((track) => track.kind === kind && !isScreen(track))
      ?.getSettings().deviceId;

  /** Lists the devices; their labels are only there once the page may use them. */
  const fillDevices = async () => {
    if (devices?.enumerateDevices === undefined) return;
    const all = await devices.enumerateDevices();
    fillSelect(ui.cameraSelect, all, 'videoinput', currentDevice('video') ?? readChoice('camera'), 'Camera');
    fillSelect(
      ui.microphoneSelect,
      all,
      'audioinput',
      currentDevice('audio') ?? readChoice('microphone'),
      'Microphone',
    );
  };
  devices?.addEventListener('devicechange', () => {
    if (!ui.settings.hasAttribute('hidden')) void fillDevices();
  });

  const bindSelect = (select: HTMLSelectElement, kind: StoredChoice & ('camera' | 'microphone')) => {
    select.addEventListener('change', () => {
      const deviceId = select.value;
      rememberChoice(kind, deviceId);
      const switching = kind === 'camera' ? adapter.switchCamera(deviceId) : adapter.switchMicrophone(deviceId);
      // The self-view follows the new camera (a switch changes no part of the call's snapshot).
      switching
        .then(() => showSelfView(stream))
        .catch((error: unknown) => {
          notices.show('media', {
            kind: 'media-error',
            tone: 'warning',
            text: `Could not switch the ${kind}: ${messageOf(error)}`,
          });
          void fillDevices();
        });
    });
  };
  bindSelect(ui.cameraSelect, 'camera');
  bindSelect(ui.microphoneSelect, 'microphone');

  adapter.subscribe((call) => {
    renderRemote(ui, call);
    const { local } = call;
    setDisabled(ui.shareScreen, !IN_ROOM_OR_CALL.has(call.status));
    setShareButton(ui.shareScreen, local.screen);
    ui.call.classList.toggle('sharing-screen', local.screen);
    // The self-view follows what is sent: the shared screen, the camera again, the devices
    // started again on rejoin. Without a camera it shows nothing once sharing stops.
    showSelfView(stream);
    setHidden(ui.localVideo, !local.hasCamera && !local.screen);
  });
}

/** Statuses in which sharing the screen makes sense. */
const IN_ROOM_OR_CALL: ReadonlySet<string> = new Set(['waiting', 'connecting', 'connected', 'reconnecting']);

function renderRemote(ui: MediaControlsElements, call: CallSnapshot): void {
  const { remote } = call;
  const shown = WITH_PEER.has(call.status);
  const badges: [string, string, boolean][] = [
    ['sharing-screen', 'sharing screen', remote.screen],
    ['audio-only', 'audio only', !remote.hasCamera && !remote.screen],
    ['camera-off', 'camera off', remote.hasCamera && !remote.video],
    ['muted', 'muted', remote.hasMicrophone && !remote.audio],
  ];
  const kinds = shown ? badges.filter(([, , on]) => on).map(([kind]) => kind) : [];
  setHidden(ui.remoteInfo, !shown || (kinds.length === 0 && remote.name === ''));
  setText(ui.remoteName, shown ? remote.name : '');
  setHidden(ui.remoteName, remote.name === '');
  setData(ui.remoteInfo, 'media', kinds.join(' '));
  for (const [kind, text] of badges) {
    let badge = ui.remoteInfo.querySelector<HTMLElement>(`[data-kind="${kind}"]`);
    if (!kinds.includes(kind)) {
      badge?.remove();
      continue;
    }
    if (badge === null) {
      badge = document.createElement('span');
      badge.className = 'media-badge';
      badge.dataset['kind'] = kind;
      badge.textContent = text;
      ui.remoteInfo.append(badge);
    }
  }
  // A camera that is off sends black frames, and a call without one sends none: the placeholder.
  ui.call.classList.toggle('remote-no-video', shown && !remote.video);
}

function setShareButton(button: HTMLButtonElement, sharing: boolean): void {
  setAttribute(button, 'aria-pressed', String(sharing));
  button.classList.toggle('active', sharing);
  const label = button.querySelector('.label');
  if (label !== null) setText(label, sharing ? 'Stop sharing' : 'Share screen');
  setAttribute(button, 'title', sharing ? 'Stop sharing your screen' : 'Share your screen');
}

function fillSelect(
  select: HTMLSelectElement,
  all: readonly MediaDeviceInfo[],
  kind: MediaDeviceKind,
  current: string | undefined,
  noun: string,
): void {
  const found = all.filter((device) => device.kind === kind && device.deviceId !== '');
  select.replaceChildren(
    ...found.map((device, index) => {
      const option = document.createElement('option');
      option.value = device.deviceId;
      // Labels are empty until the user allowed the device.
      option.textContent = device.label === '' ? `${noun} ${index + 1}` : device.label;
      option.selected = device.deviceId === current;
      return option;
    }),
  );
  select.disabled = found.length < 2;
}

function isScreen(track: MediaStreamTrack): boolean {
  const settings = track.getSettings() as MediaTrackSettings & { displaySurface?: string };
  return settings.displaySurface !== undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
