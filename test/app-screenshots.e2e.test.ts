/**
 * Screenshots of the call screen for docs/screenshots: two tabs side by side on a desktop-sized
 * window, and a phone-sized (390x844) touch screen, with the chat sheet open too. The test also
 * checks the phone layout: the remote video fills the screen, the local video is a small overlay
 * and every control is inside the viewport.
 *
 * The pictures go to docs/screenshots only with PARLEY_UPDATE_SCREENSHOTS=1 (so a test run does not
 * dirty the working tree); otherwise to a temporary directory. They are taken either way.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const screenshots =
  process.env['PARLEY_UPDATE_SCREENSHOTS'] === '1'
    ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
    : join(mkdtempSync(join(tmpdir(), 'parley-screenshots-')), '/');

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium();
  mkdirSync(screenshots, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/** Lays PNGs side by side in a page of their own and screenshots that page. */
async function sideBySide(images: Buffer[], width: number, height: number): Promise<Buffer> {
  const page = await browser.newPage({
    viewport: { width: width * images.length + 16 * (images.length + 1), height: height + 32 },
  });
  try {
    const imgs = images
      .map((png) => `<img src="data:image/png;base64,${png.toString('base64')}" width="${width}" height="${height}">`)
      .join('');
    await page.setContent(
      `<body style="margin:0;background:#2a2f3a;display:flex;gap:16px;padding:16px;box-sizing:border-box">${imgs}</body>`,
    );
    await page.waitForFunction(() => [...document.images].every((img) => img.complete));
    return await page.screenshot();
  } finally {
    await page.close();
  }
}

async function inCall(pages: Page[]): Promise<void> {
  for (const page of pages) await waitForStatus(page, 'connected');
  for (const page of pages) await expectRemoteVideoFlowing(page);
}

describe('the call screen', () => {
  it('two tabs side by side on a desktop window, with a chat exchanged', async () => {
    const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
    try {
      const url = `${parley.url}/?room=screenshot-desktop`;
      const first = await openApp(context, url);
      const second = await openApp(context, url);
      await inCall([first, second]);
      await first.getByTestId('chat-input').fill('Hi! Can you hear me?');
      await first.getByTestId('chat-send').click();
      await expect
        .poll(() => second.getByTestId('chat-log').textContent(), { timeout: 15_000 })
        .toContain('Can you hear me');
      await second.getByTestId('chat-input').fill('Loud and clear.');
      await second.getByTestId('chat-send').click();
      await expect
        .poll(() => first.getByTestId('chat-log').textContent(), { timeout: 15_000 })
        .toContain('Loud and clear');
      await second.getByTestId('toggle-mic').click();

      // Layout: the chat is a side panel and the controls are on screen.
      const chatBox = await first.getByTestId('chat-log').boundingBox();
      expect(chatBox!.x).toBeGreaterThan(600);
      for (const id of ['hang-up', 'toggle-mic', 'toggle-camera', 'rejoin', 'copy-link']) {
        await expect.poll(() => first.getByTestId(id).isVisible()).toBe(true);
      }

      const shots = [await first.screenshot(), await second.screenshot()];
      writeFileSync(`${screenshots}call-two-up.png`, await sideBySide(shots, 960, 600));
    } finally {
      await context.close();
    }
  }, 120_000);

  it('on a phone-sized screen: remote video fills it, local video is an overlay, controls within thumb reach', async () => {
    const desktop = await browser.newContext({ viewport: { width: 960, height: 600 } });
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 1,
    });
    try {
      const url = `${parley.url}/?room=screenshot-phone`;
      const other = await openApp(desktop, url);
      const page = await openApp(phone, url);
      await inCall([other, page]);

      const remote = (await page.getByTestId('remote-video').boundingBox())!;
      expect(remote.width).toBeGreaterThanOrEqual(389);
      expect(remote.height).toBeGreaterThan(700);
      const local = (await page.getByTestId('local-video').boundingBox())!;
      expect(local.width).toBeLessThan(200);
      // Nothing sticks out sideways (a mobile browser would zoom the whole page out).
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      for (const control of ['hang-up', 'toggle-mic', 'toggle-camera', 'rejoin', 'copy-link', 'chat-toggle']) {
        const box = (await (
          control === 'chat-toggle' ? page.locator('#chat-toggle') : page.getByTestId(control)
        ).boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(390);
        // The bottom third of the screen: reachable with a thumb.
        expect(box.y).toBeGreaterThan(844 * 0.66);
        expect(box.width).toBeGreaterThanOrEqual(44);
      }
      writeFileSync(`${screenshots}call-phone.png`, await page.screenshot());

      await other.getByTestId('chat-input').fill('Running 5 minutes late, sorry!');
      await other.getByTestId('chat-send').click();
      await expect.poll(() => page.locator('#chat-badge').textContent(), { timeout: 15_000 }).toBe('1');
      await page.locator('#chat-toggle').tap();
      await expect.poll(() => page.getByTestId('chat-input').isVisible()).toBe(true);
      await expect.poll(() => page.getByTestId('chat-log').textContent()).toContain('5 minutes late');
      await page.getByTestId('chat-input').fill('No problem');
      await page.getByTestId('chat-send').tap();
      await page.getByTestId('chat-input').blur();
      writeFileSync(`${screenshots}call-phone-chat.png`, await page.screenshot());
    } finally {
      await phone.close();
      await desktop.close();
    }
  }, 120_000);
});
