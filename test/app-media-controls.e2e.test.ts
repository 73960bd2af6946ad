/**
 * Media that behaves, in real Chromium against a real Parley: every local track stopped after a
 * hang-up, a room-full refusal and pagehide; switching the camera and microphone mid-call with
 * replaceTrack and no new offer; screen sharing (Chromium's fake capture) and the camera coming
 * back, also when the share ends on its own; screen sharing from a call without a camera (a
 * renegotiation); the other person's camera off, muted, audio only, sharing screen and name on the
 * remote tile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  // Three fake cameras and microphones. fake_device_1 delivers Y16 (depth) frames, which the
  // video encoder drops, so the switch goes to fake_device_2. getDisplayMedia picks the fake
  // screen with --use-fake-ui-for-media-stream, already in launchChromium's flags.
  browser = await launchChromium(['--use-fake-device-for-media-stream=device-count=3']);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/**
 * Run in every page before its scripts: keeps every track getUserMedia and getDisplayMedia hand
 * out in `window.__parleyTracks`, and counts setLocalDescription calls (a renegotiation makes one).
 */
const RECORD_MEDIA = `
  (() => {
    window.__parleyTracks = [];
    window.__parleySetLocal = 0;
    const devices = navigator.mediaDevices;
    for (const name of ['getUserMedia', 'getDisplayMedia']) {
      const original = devices?.[name]?.bind(devices);
      if (!original) continue;
      devices[name] = async (...args) => {
        const stream = await original(...args);
        window.__parleyTracks.push(...stream.getTracks());
        return stream;
      };
    }
    const setLocal = RTCPeerConnection.prototype.setLocalDescription;
    RTCPeerConnection.prototype.setLocalDescription = function (...args) {
      window.__parleySetLocal += 1;
      return setLocal.apply(this, args);
    };
  })();
`;

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript(RECORD_MEDIA);
  return context;
}

/** Every local track the page ever got, as `kind:label:readyState`. */
function localTracks(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __parleyTracks: MediaStreamTrack[] }).__parleyTracks.map(
      (track) => `${track.kind}:${track.label}:${track.readyState}`,
    ),
  );
}

/** The labels of the tracks the page's current peer connection sends. */
function sentTracks(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const pc = (window as unknown as { __parleyPcs: RTCPeerConnection[] }).__parleyPcs.at(-1);
    return (pc?.getSenders() ?? []).map((sender) => `${sender.track?.kind}:${sender.track?.label}`).sort();
  });
}

/** Run before the page's scripts: getUserMedia finds no camera (a microphone only). */
const NO_CAMERA = `
  (() => {
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) =>
      constraints && constraints.video
        ? Promise.reject(new DOMException('refused by the test', 'NotFoundError'))
        : original(constraints);
  })();
`;

/** Whether the remote tile shows its placeholder, and the size of the picture under it. */
function remoteTile(page: Page): Promise<{ placeholder: boolean; videoWidth: number }> {
  return page.evaluate(() => ({
    placeholder: getComputedStyle(document.getElementById('remote-placeholder')!).display !== 'none',
    videoWidth: document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')!.videoWidth,
  }));
}

/** The tracks the self-view plays, as `kind:label`. */
function selfViewTracks(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const shown = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]')!.srcObject;
    return shown instanceof MediaStream ? shown.getTracks().map((track) => `${track.kind}:${track.label}`) : [];
  });
}

/** Whether the self-view or its placeholder is shown, and the self-view's picture size. */
function selfView(page: Page): Promise<{ visible: boolean; placeholder: boolean; videoWidth: number }> {
  return page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]')!;
    const placeholder = document.querySelector<HTMLElement>('[data-testid="local-placeholder"]')!;
    return {
      visible: getComputedStyle(video).visibility !== 'hidden',
      placeholder: getComputedStyle(placeholder).display !== 'none',
      videoWidth: video.videoWidth,
    };
  });
}

/** How many media sections (transceivers) the page's current peer connection has. */
function transceiverCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __parleyPcs: RTCPeerConnection[] }).__parleyPcs.at(-1)?.getTransceivers().length ?? -1,
  );
}

function setLocalCalls(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __parleySetLocal: number }).__parleySetLocal);
}

/** The media-state badges on the remote tile (`data-kind`s), and the name shown. */
async function remoteInfo(page: Page): Promise<{ badges: string[]; name: string; hidden: boolean }> {
  return page.evaluate(() => {
    const info = document.querySelector<HTMLElement>('[data-testid="remote-info"]')!;
    return {
      badges: [...info.querySelectorAll<HTMLElement>('[data-kind]')].map((badge) => badge.dataset['kind'] ?? ''),
      name: document.querySelector('[data-testid="remote-name"]')!.textContent ?? '',
      hidden: info.hasAttribute('hidden'),
    };
  });
}

async function callBetween(room: string): Promise<{ a: Page; b: Page; close: () => Promise<void> }> {
  const contexts = [await newContext(), await newContext()];
  const url = `${parley.url}/?room=${room}`;
  const a = await openApp(contexts[0], url);
  const b = await openApp(contexts[1], url);
  for (const page of [a, b]) await waitForStatus(page, 'connected', 45_000);
  return { a, b, close: async () => void (await Promise.all(contexts.map((context) => context.close()))) };
}

const allEnded = (tracks: string[]) => tracks.length > 0 && tracks.every((track) => track.endsWith(':ended'));

describe('media controls', () => {
  it('stops every local track after a hang-up, starts them again on rejoin, and stops them on pagehide', async () => {
    const { a, b, close } = await callBetween('release-hangup');
    try {
      expect(await localTracks(a)).toEqual(expect.arrayContaining([expect.stringMatching(/^video:.*:live$/)]));
      await a.getByTestId('share-screen').click();
      await expect.poll(() => sentTracks(a)).toContainEqual(expect.stringMatching(/^video:screen/));
      await a.getByTestId('hang-up').click();
      await waitForStatus(a, 'closed');
      await expect.poll(() => localTracks(a)).toSatisfy(allEnded);

      await a.getByTestId('rejoin').click();
      for (const page of [a, b]) await waitForStatus(page, 'connected', 45_000);
      await expectRemoteVideoFlowing(b);
      const live = (await localTracks(a)).filter((track) => track.endsWith(':live'));
      expect(live.map((track) => track.split(':')[0]).sort()).toEqual(['audio', 'video']);

      await a.evaluate(() => dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false })));
      await expect.poll(() => localTracks(a)).toSatisfy(allEnded);
      await waitForStatus(b, 'waiting');
    } finally {
      await close();
    }
  }, 180_000);

  it('stops every local track when the room is full', async () => {
    const { close } = await callBetween('release-full');
    const context = await newContext();
    try {
      const third = await openApp(context, `${parley.url}/?room=release-full`);
      await waitForStatus(third, 'rejected');
      await expect.poll(() => localTracks(third)).toSatisfy(allEnded);
    } finally {
      await context.close();
      await close();
    }
  }, 150_000);

  it('switches camera and microphone mid-call with replaceTrack: no new offer, the old tracks stopped', async () => {
    const { a, b, close } = await callBetween('switch-devices');
    try {
      await expectRemoteVideoFlowing(b);
      const calls = [await setLocalCalls(a), await setLocalCalls(b)];
      expect(await sentTracks(a)).toContainEqual('video:fake_device_0');
      // The self-view plays the camera alone: given the microphone too, a muted element still
      // runs an audio output for it.
      expect(await selfViewTracks(a)).toEqual(['video:fake_device_0']);

      await a.getByTestId('settings').click();
      const camera = a.getByTestId('camera-select');
      await expect
        .poll(() => camera.locator('option').allTextContents())
        .toEqual(['fake_device_0', 'fake_device_1', 'fake_device_2']);
      expect(await camera.inputValue()).toBe(
        await camera.locator('option', { hasText: 'fake_device_0' }).getAttribute('value'),
      );
      await camera.selectOption({ label: 'fake_device_2' });
      await expect.poll(() => sentTracks(a)).toContainEqual('video:fake_device_2');
      await expect.poll(() => selfViewTracks(a)).toEqual(['video:fake_device_2']);
      const microphone = a.getByTestId('microphone-select');
      const options = await microphone.locator('option').allTextContents();
      expect(options.length).toBeGreaterThan(1);
      const before = (await sentTracks(a)).find((track) => track.startsWith('audio:'));
      const other = options.find((label) => `audio:${label}` !== before)!;
      await microphone.selectOption({ label: other });
      await expect.poll(() => sentTracks(a)).toContainEqual(`audio:${other}`);

      const tracks = await localTracks(a);
      expect(tracks).toContainEqual('video:fake_device_0:ended');
      expect(tracks.filter((track) => track.endsWith(':live')).sort()).toEqual(
        [`audio:${other}:live`, 'video:fake_device_2:live'].sort(),
      );
      await expectRemoteVideoFlowing(b);
      expect([await setLocalCalls(a), await setLocalCalls(b)]).toEqual(calls);
      expect(await a.evaluate(() => localStorage.getItem('parley.camera'))).toBeTruthy();
    } finally {
      await close();
    }
  }, 180_000);

  it('shares the screen in place of the camera, and brings the camera back on stop and when the share ends', async () => {
    const { a, b, close } = await callBetween('screen-share');
    try {
      const calls = [await setLocalCalls(a), await setLocalCalls(b)];
      await a.getByTestId('share-screen').click();
      await expect.poll(() => sentTracks(a)).toContainEqual(expect.stringMatching(/^video:screen/));
      expect(await a.getByTestId('share-screen').getAttribute('aria-pressed')).toBe('true');
      // The self-view shows what is shared.
      await expect
        .poll(() =>
          a.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="local-video"]')!.videoWidth),
        )
        .toBe(1280);
      await expect.poll(async () => (await remoteInfo(b)).badges).toEqual(['sharing-screen']);
      // The fake screen is 1280x720; the fake camera 640x480.
      await expect
        .poll(() =>
          b.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')!.videoWidth),
        )
        .toBe(1280);

      await a.getByTestId('share-screen').click();
      await expect.poll(() => sentTracks(a)).toContainEqual('video:fake_device_0');
      await expect.poll(() => selfViewTracks(a)).toEqual(['video:fake_device_0']);
      await expect.poll(async () => (await remoteInfo(b)).badges).toEqual([]);
      await expect.poll(() => localTracks(a)).toContainEqual(expect.stringMatching(/^video:screen.*:ended$/));

      // As if the browser's own "Stop sharing" button ended the track.
      await a.getByTestId('share-screen').click();
      await expect.poll(() => sentTracks(a)).toContainEqual(expect.stringMatching(/^video:screen/));
      await a.evaluate(() => {
        const tracks = (window as unknown as { __parleyTracks: MediaStreamTrack[] }).__parleyTracks;
        const screen = tracks.findLast((track) => track.label.startsWith('screen'))!;
        screen.stop();
        screen.dispatchEvent(new Event('ended'));
      });
      await expect.poll(() => sentTracks(a)).toContainEqual('video:fake_device_0');
      expect(await a.getByTestId('share-screen').getAttribute('aria-pressed')).toBe('false');
      await expectRemoteVideoFlowing(b);
      expect([await setLocalCalls(a), await setLocalCalls(b)]).toEqual(calls);
    } finally {
      await close();
    }
  }, 180_000);

  it("shows the other person's camera off, mute and name, and keeps the name for the next call", async () => {
    const { a, b, close } = await callBetween('remote-state');
    try {
      expect((await remoteInfo(b)).hidden).toBe(true);
      await a.getByTestId('toggle-camera').click();
      await a.getByTestId('toggle-mic').click();
      await expect.poll(async () => (await remoteInfo(b)).badges).toEqual(['camera-off', 'muted']);
      expect((await remoteInfo(b)).hidden).toBe(false);
      await expect
        .poll(() => b.evaluate(() => document.getElementById('call')!.classList.contains('remote-no-video')))
        .toBe(true);

      await a.getByTestId('settings').click();
      await a.getByTestId('display-name').fill('Ada');
      await expect.poll(async () => (await remoteInfo(b)).name).toBe('Ada');
      await a.getByTestId('toggle-camera').click();
      await a.getByTestId('toggle-mic').click();
      await expect.poll(async () => (await remoteInfo(b)).badges).toEqual([]);
      expect((await remoteInfo(b)).name).toBe('Ada');

      // The name is remembered: the link joins at once, and the other side sees it straight away.
      await a.reload();
      for (const page of [a, b]) await waitForStatus(page, 'connected', 45_000);
      await expect.poll(async () => (await remoteInfo(b)).name).toBe('Ada');
      expect(await a.getByTestId('display-name').inputValue()).toBe('Ada');
    } finally {
      await close();
    }
  }, 180_000);

  it('shows a peer without a camera as audio only, and lets it share its screen', async () => {
    const context = await newContext();
    await context.addInitScript(NO_CAMERA);
    const other = await newContext();
    try {
      const url = `${parley.url}/?room=audio-only-tile`;
      const audioOnly = await openApp(context, url);
      const full = await openApp(other, url);
      for (const page of [audioOnly, full]) await waitForStatus(page, 'connected', 45_000);
      await expect.poll(async () => (await remoteInfo(full)).badges).toEqual(['audio-only']);
      // No picture to show: the placeholder, not a black tile.
      await expect.poll(() => remoteTile(full)).toEqual({ placeholder: true, videoWidth: 0 });
      await expectRemoteVideoFlowing(audioOnly);

      // The screen goes out on the video section the other side's offer brought: a renegotiation.
      const calls = await setLocalCalls(audioOnly);
      await audioOnly.getByTestId('share-screen').click();
      await expect.poll(() => sentTracks(audioOnly)).toContainEqual(expect.stringMatching(/^video:screen/));
      await expect.poll(async () => (await remoteInfo(full)).badges).toEqual(['sharing-screen']);
      await expect.poll(() => remoteTile(full)).toEqual({ placeholder: false, videoWidth: 1280 });
      await expectRemoteVideoFlowing(full);
      expect(await setLocalCalls(audioOnly)).toBeGreaterThan(calls);
      expect(await selfView(audioOnly)).toEqual({ visible: true, placeholder: false, videoWidth: 1280 });

      await audioOnly.getByTestId('share-screen').click();
      await expect.poll(async () => (await remoteInfo(full)).badges).toEqual(['audio-only']);
      await expect.poll(() => remoteTile(full)).toMatchObject({ placeholder: true });
      await expect.poll(() => localTracks(audioOnly)).toContainEqual(expect.stringMatching(/^video:screen.*:ended$/));
      expect((await sentTracks(audioOnly)).filter((track) => track.startsWith('video:'))).toEqual([]);
      await expect.poll(() => selfView(audioOnly)).toMatchObject({ visible: false, placeholder: true });
      // The call goes on, and sharing again needs no new media section.
      await audioOnly.getByTestId('share-screen').click();
      await expect.poll(async () => (await remoteInfo(full)).badges).toEqual(['sharing-screen']);
      await expectRemoteVideoFlowing(full);
      expect(await transceiverCount(audioOnly)).toBe(2);
    } finally {
      await context.close();
      await other.close();
    }
  }, 150_000);

  it('shares the screen between two people without cameras on a video section of its own', async () => {
    const contexts = [await newContext(), await newContext()];
    try {
      for (const context of contexts) await context.addInitScript(NO_CAMERA);
      const url = `${parley.url}/?room=audio-only-share`;
      const a = await openApp(contexts[0], url);
      const b = await openApp(contexts[1], url);
      for (const page of [a, b]) await waitForStatus(page, 'connected', 45_000);
      expect(await transceiverCount(a)).toBe(1);
      await b.getByTestId('share-screen').click();
      await expect.poll(async () => (await remoteInfo(a)).badges).toEqual(['sharing-screen']);
      await expectRemoteVideoFlowing(a);
      expect(await transceiverCount(a)).toBe(2);
      await b.getByTestId('share-screen').click();
      await expect.poll(async () => (await remoteInfo(a)).badges).toEqual(['audio-only']);
      await expect.poll(() => remoteTile(a)).toMatchObject({ placeholder: true });
      for (const page of [a, b])
        expect(await page.getByTestId('call-state').getAttribute('data-status')).toBe('connected');
    } finally {
      await Promise.all(contexts.map((context) => context.close()));
    }
  }, 150_000);
});
