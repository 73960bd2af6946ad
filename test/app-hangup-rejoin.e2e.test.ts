/**
 * Leaving and coming back, in real Chromium against a real Parley: one tab hangs up (the other
 * is told the peer left), rejoins, and the call comes back; a third tab is told the room is full
 * while the call goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, noticeKinds, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

describe('hanging up and rejoining', () => {
  it('hangs up, tells the other tab the peer left, rejoins and the call comes back', async () => {
    const context = await browser.newContext();
    try {
      const url = `${parley.url}/?room=hangup-test`;
      const first = await openApp(context, url);
      const second = await openApp(context, url);
      for (const page of [first, second]) await waitForStatus(page, 'connected');
      await expectRemoteVideoFlowing(second);

      await first.getByTestId('hang-up').click();
      await waitForStatus(first, 'closed');
      await expect.poll(() => first.getByTestId('call-state').textContent()).toBe('Call ended');
      await expect.poll(() => noticeKinds(first)).toContain('call-ended');
      await expect.poll(() => first.getByTestId('hang-up').isDisabled()).toBe(true);
      await waitForStatus(second, 'waiting');
      await expect.poll(() => noticeKinds(second)).toContain('peer-left');
      await expect.poll(() => parley.signaling.rooms.view('hangup-test')?.peers.length).toBe(1);
      // The remote video is cleared once the peer is gone.
      await expect
        .poll(() =>
          second.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')!.srcObject),
        )
        .toBeNull();

      await first.getByTestId('rejoin').click();
      for (const page of [first, second]) await waitForStatus(page, 'connected', 45_000);
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);
      await expect.poll(() => noticeKinds(second)).not.toContain('peer-left');
    } finally {
      await context.close();
    }
  }, 150_000);

  it('tells a third tab the room is full, and the call goes on', async () => {
    const context = await browser.newContext();
    try {
      const url = `${parley.url}/?room=full-test`;
      const first = await openApp(context, url);
      const second = await openApp(context, url);
      for (const page of [first, second]) await waitForStatus(page, 'connected');

      const third = await openApp(context, url);
      await waitForStatus(third, 'rejected');
      await expect.poll(() => third.getByTestId('call-state').textContent()).toBe('Room is full');
      await expect.poll(() => noticeKinds(third)).toContain('room-full');
      const newRoom = await third.getByTestId('notice').locator('[data-kind="room-full"] a').getAttribute('href');
      expect(new URL(newRoom!).searchParams.get('room')).not.toBe('full-test');

      // The call between the first two is undisturbed.
      for (const page of [first, second]) {
        expect(await page.getByTestId('call-state').getAttribute('data-status')).toBe('connected');
        await expectRemoteVideoFlowing(page);
      }
      expect(parley.signaling.rooms.view('full-test')?.peers.length).toBe(2);
    } finally {
      await context.close();
    }
  }, 150_000);
});
