/**
 * How the web app starts, in real headless Chromium against a real Parley: the inline script at
 * the top of the page asks for the camera before any script file has arrived, the page's
 * Content-Security-Policy allows that one script by its hash, the app takes the request over
 * instead of asking again, and the call page is preloaded beside the first chunk. (The time this
 * saves is measured by bench/time-to-media.ts, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, noticeKinds, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium();
  context = await browser.newContext();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/**
 * Run before the page's scripts: records each getUserMedia call (whether an inline script made it,
 * and whether the parser had reached any script file's tag by then, which no script file can run
 * before) and every CSP violation. (Whether a script file had been *fetched* by then is a race with
 * the preload scanner, and says nothing about the order in which scripts run.)
 */
const RECORD_STARTUP = `
  (() => {
    window.__startup = { media: [], violations: [] };
    const native = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = function (...args) {
      const script = document.currentScript;
      window.__startup.media.push({
        inline: script !== null && script.src === '',
        scriptFileTagsParsed: document.querySelector('script[src]') !== null,
      });
      return native.apply(this, args);
    };
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__startup.violations.push(event.violatedDirective + ' ' + event.blockedURI);
    });
  })();
`;

interface Startup {
  media: { inline: boolean; scriptFileTagsParsed: boolean }[];
  violations: string[];
}

async function openRecorded(url: string): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(RECORD_STARTUP);
  await page.goto(url);
  return page;
}

function startupOf(page: Page): Promise<Startup> {
  return page.evaluate(() => (window as unknown as { __startup: Startup }).__startup);
}

describe('the web app’s start', () => {
  it('asks for the camera once, from the inline script in the head, which its CSP allows by hash', async () => {
    const page = await openRecorded(`${parley.url}/?room=boot-once`);
    try {
      await waitForStatus(page, 'waiting');
      const startup = await startupOf(page);
      expect(startup.media).toEqual([{ inline: true, scriptFileTagsParsed: false }]);
      expect(startup.violations).toEqual([]);
      // The app took the early request over: the self-view shows its stream.
      expect(
        await page
          .getByTestId('local-video')
          .evaluate((video: HTMLVideoElement) => (video.srcObject as MediaStream | null)?.getVideoTracks().length),
      ).toBe(1);

      const response = await fetch(`${parley.url}/?room=boot-once`);
      const policy = response.headers.get('content-security-policy') ?? '';
      const html = await response.text();
      expect(html).toMatch(/<head>\s*<meta charset="utf-8" \/>\s*<script>/);
      // Exactly one inline script is allowed, by its hash; scripts from elsewhere still are not.
      expect(policy.match(/'sha256-[A-Za-z0-9+/=]+'/g)).toHaveLength(1);
      expect(policy).toContain("script-src 'self' 'sha256-");
      expect(policy).not.toContain('unsafe-inline');
      // The call page is fetched beside the first chunk, not after it has run.
      expect(html).toMatch(/<link rel="modulepreload" crossorigin href="\/assets\/call-page-[\w-]+\.js">/);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('shows the self-view as soon as the camera is on, from the first chunk, before the call page has loaded', async () => {
    const page = await context.newPage();
    // The call page's chunk never arrives: only the first chunk runs.
    await page.route(/\/assets\/call-page-[\w-]+\.js$/, (route) => route.abort());
    try {
      await page.goto(`${parley.url}/?room=boot-self-view`);
      await expect
        .poll(() => page.getByTestId('local-video').evaluate((video: HTMLVideoElement) => video.videoWidth), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      const shown = await page.getByTestId('local-video').evaluate((video: HTMLVideoElement) => ({
        tracks: (video.srcObject as MediaStream | null)
          ?.getTracks()
          .map((track) => track.kind)
          .sort(),
        playing: !video.paused,
      }));
      expect(shown).toEqual({ tracks: ['audio', 'video'], playing: true });
      // Without the call page, the page says it could not start.
      await expect.poll(() => page.getByTestId('call-state').getAttribute('data-status')).toBe('error');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('asks for no camera when the link names no valid room', async () => {
    const page = await openRecorded(`${parley.url}/?room=not%20a%20room`);
    try {
      await expect.poll(() => noticeKinds(page)).toEqual(['bad-room']);
      const startup = await startupOf(page);
      expect(startup.media).toEqual([]);
      expect(startup.violations).toEqual([]);
      expect(parley.signaling.rooms.size).toBe(0);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('still falls back to audio only when the early request for the camera is refused', async () => {
    const page = await context.newPage();
    // The camera is refused, the microphone allowed: the inline script's request fails.
    await page.addInitScript(`
      const native = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (constraints) {
        if (constraints?.video) return Promise.reject(new DOMException('denied', 'NotAllowedError'));
        return native.call(this, constraints);
      };
    `);
    await page.goto(`${parley.url}/?room=boot-denied`);
    try {
      await waitForStatus(page, 'waiting');
      await expect.poll(() => noticeKinds(page)).toEqual(['camera-denied']);
      expect(await page.locator('#call').getAttribute('data-media')).toBe('audio-only');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('joins while the camera starts when no permission prompt can hold the camera up, and after it otherwise', async () => {
    // The camera takes 3 s to start in both pages.
    const SLOW_CAMERA = `
      const native = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (constraints) {
        return native.call(this, constraints).then((stream) => new Promise((resolve) => setTimeout(() => resolve(stream), 3000)));
      };
    `;
    // Chromium's fake media UI grants at once, so the prompt a first visit gets is played by the
    // Permissions API saying so.
    const PROMPTS = `
      Permissions.prototype.query = function () { return Promise.resolve({ state: 'prompt' }); };
    `;
    const peersIn = (room: string) => parley.signaling.rooms.view(room)?.peers.length ?? 0;
    const granted = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const asking = await browser.newContext();
    try {
      for (const [context, room, joinsEarly] of [
        [granted, 'boot-granted', true],
        [asking, 'boot-asking', false],
      ] as const) {
        const page = await context.newPage();
        await page.addInitScript(SLOW_CAMERA);
        if (!joinsEarly) await page.addInitScript(PROMPTS);
        const opened = Date.now();
        await page.goto(`${parley.url}/?room=${room}`);
        // The camera cannot be ready before `opened` + 3 s: a page that joins early is in the room
        // well before, the other not yet.
        const beforeCamera = opened + 2_500 - Date.now();
        if (joinsEarly) await expect.poll(() => peersIn(room), { timeout: beforeCamera }).toBe(1);
        else await new Promise((resolve) => setTimeout(resolve, beforeCamera));
        expect({ room, peers: peersIn(room), inTime: Date.now() < opened + 3_000 }).toEqual({
          room,
          peers: joinsEarly ? 1 : 0,
          inTime: true,
        });
        await waitForStatus(page, 'waiting');
        expect(peersIn(room)).toBe(1);
        await page.close();
      }
    } finally {
      await granted.close();
      await asking.close();
    }
  }, 60_000);

  it('calls between two tabs that both started this way', async () => {
    const first = await openApp(context, `${parley.url}/?room=boot-call`);
    const second = await openApp(context, `${parley.url}/?room=boot-call`);
    try {
      await waitForStatus(first, 'connected');
      await waitForStatus(second, 'connected');
      await expectRemoteVideoFlowing(first);
      await expectRemoteVideoFlowing(second);
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);
});
