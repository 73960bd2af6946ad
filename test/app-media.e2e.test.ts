/**
 * Local media problems, in real Chromium against a real Parley: no camera (the call goes on
 * audio only) and camera and microphone permission denied (the call goes on receive-only). The
 * page's getUserMedia is made to fail the way browsers fail (NotFoundError, NotAllowedError).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, CURRENT_PC, expectRemoteVideoFlowing, noticeKinds, openApp, waitForStatus } from './helpers/app.js';
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

/** An init script making getUserMedia fail with `errorName` for requests matching `when`. */
function failGetUserMedia(errorName: 'NotFoundError' | 'NotAllowedError', when: 'video' | 'any'): string {
  return `
    (() => {
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = (constraints) =>
        ${when === 'video' ? 'constraints && constraints.video' : 'true'}
          ? Promise.reject(new DOMException('refused by the test', '${errorName}'))
          : original(constraints);
    })();
  `;
}

/** Inbound RTP bytes of `kind` on the page's current peer connection. */
function inboundBytes(page: Page, kind: 'audio' | 'video'): Promise<number> {
  return page.evaluate(
    async ([expression, wanted]) => {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
      const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
      let bytes = 0;
      (await pc?.getStats())?.forEach((r: { type: string; kind?: string; bytesReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === wanted) bytes += r.bytesReceived ?? 0;
      });
      return bytes;
    },
    [CURRENT_PC, kind] as const,
  );
}

describe('local media problems', () => {
  it('without a camera, says so and calls audio only', async () => {
    const context = await browser.newContext();
    try {
      await context.addInitScript(failGetUserMedia('NotFoundError', 'video'));
      const url = `${parley.url}/?room=no-camera`;
      const audioOnly = await openApp(context, url);
      await expect.poll(() => noticeKinds(audioOnly), { timeout: 15_000 }).toContain('no-camera');
      expect(await audioOnly.getByTestId('notice').textContent()).toContain('No camera found');
      expect(await audioOnly.getByTestId('toggle-camera').isDisabled()).toBe(true);
      expect(await audioOnly.getByTestId('toggle-mic').isDisabled()).toBe(false);

      const other = await browser.newContext();
      try {
        const full = await openApp(other, url);
        for (const page of [audioOnly, full]) await waitForStatus(page, 'connected', 45_000);
        // The audio-only tab still sees the other's video; the other hears it.
        await expectRemoteVideoFlowing(audioOnly);
        const before = await inboundBytes(full, 'audio');
        await expect.poll(() => inboundBytes(full, 'audio'), { timeout: 30_000 }).toBeGreaterThan(before + 1_000);
      } finally {
        await other.close();
      }
    } finally {
      await context.close();
    }
  }, 150_000);

  it('with camera and microphone permission denied, says so and still receives the call', async () => {
    const context = await browser.newContext();
    try {
      await context.addInitScript(failGetUserMedia('NotAllowedError', 'any'));
      const url = `${parley.url}/?room=denied`;
      const receiveOnly = await openApp(context, url);
      await expect.poll(() => noticeKinds(receiveOnly), { timeout: 15_000 }).toContain('media-denied');
      expect(await receiveOnly.getByTestId('notice').textContent()).toContain('permission was denied');
      expect(await receiveOnly.getByTestId('local-video').isVisible()).toBe(false);

      const other = await browser.newContext();
      try {
        const full = await openApp(other, url);
        for (const page of [receiveOnly, full]) await waitForStatus(page, 'connected', 45_000);
        await expectRemoteVideoFlowing(receiveOnly);
      } finally {
        await other.close();
      }
    } finally {
      await context.close();
    }
  }, 150_000);
});
