/**
 * Compatibility with the original "WebRTC working example": its page (served from another
 * origin, as in original-example.e2e.test.ts) in one tab and the Parley app in the other, in the
 * example's room `room`, call each other both ways round: the example's page first (it gets
 * `ready` and offers) and the app first (the app offers).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { inboundVideoBytes, launchChromium, serveDirectory, videoPlaying } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const require = createRequire(import.meta.url);
const exampleDir = fileURLToPath(new URL('./fixtures/original-example/', import.meta.url));

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let site: Awaited<ReturnType<typeof serveDirectory>>;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({
    staticDir: app.dir,
    allowedOrigins: '*',
    // A closed tab looks like a dropped one: its seat is held for the recovery window. A short
    // one, so that each test starts with the example's single room empty again.
    engine: { connectionStateRecovery: { maxDisconnectionDuration: 2_000 } },
  });
  site = await serveDirectory(
    exampleDir,
    (path, body) => (path === '/main.js' ? String(body).replace("'http://localhost:9999'", `'${parley.url}'`) : body),
    { '/socket.io.js': require.resolve('socket.io-client/dist/socket.io.js') },
  );
  browser = await launchChromium();
}, 120_000);
afterEach(async () => {
  await context?.close();
  // The next test starts with the room empty again.
  await expect.poll(() => parley.signaling.rooms.view('room')?.peers.length ?? 0, { timeout: 15_000 }).toBe(0);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  parley?.close();
  await app?.remove();
});

async function openExample(): Promise<Page> {
  const page = await context!.newPage();
  await page.goto(site.url);
  return page;
}

async function expectExamplePlaying(page: Page): Promise<void> {
  await expect
    .poll(async () => (await videoPlaying(page, '#remoteStream')).width, { timeout: 30_000 })
    .toBeGreaterThan(0);
  const before = await inboundVideoBytes(page, 'pc');
  await expect.poll(() => inboundVideoBytes(page, 'pc'), { timeout: 30_000 }).toBeGreaterThan(before + 5_000);
}

/**
 * The app's description, as the example's Chromium applied it, asks for the app's video start
 * bitrate (src/client/start-bitrate.ts) on VP8, the codec the call uses.
 */
async function expectStartBitrateAsked(example: Page): Promise<void> {
  // `pc` is the example page's global.
  const sdp = await example.evaluate<string>('pc.remoteDescription.sdp');
  const vp8 = /^a=rtpmap:(\d+) VP8\/90000\r?$/m.exec(sdp)?.[1];
  expect(vp8).toBeDefined();
  expect(sdp).toMatch(new RegExp(`^a=fmtp:${vp8} x-google-start-bitrate=1000\r?$`, 'm'));
}

describe('the app and the original example page in room "room"', () => {
  it('connects when the example page is there first', async () => {
    context = await browser.newContext();
    const example = await openExample();
    await expect.poll(() => parley.signaling.rooms.view('room')?.peers.length, { timeout: 15_000 }).toBe(1);
    const ours = await openApp(context, `${parley.url}/?room=room`);
    await waitForStatus(ours, 'connected', 45_000);
    await expectRemoteVideoFlowing(ours);
    await expectExamplePlaying(example);
    await expectStartBitrateAsked(example);
  }, 150_000);

  it('connects when the app is there first', async () => {
    context = await browser.newContext();
    const ours = await openApp(context, `${parley.url}/?room=room`);
    await waitForStatus(ours, 'waiting');
    const example = await openExample();
    await waitForStatus(ours, 'connected', 45_000);
    await expectRemoteVideoFlowing(ours);
    await expectExamplePlaying(example);
    await expectStartBitrateAsked(example);
  }, 150_000);
});
