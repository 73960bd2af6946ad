/**
 * The web app in real headless Chromium against a real Parley: a room link, a link with a room
 * secret, a call between two tabs with video both ways, chat over the data channel, the media
 * toggles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, openApp, sentTrackStates, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { roomKey } from '../src/signaling/room-registry.js';

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

describe('the web app', () => {
  it('picks a fresh room when the link names none and puts it in the address bar', async () => {
    const page = await openApp(context, `${parley.url}/`);
    try {
      await expect.poll(() => new URL(page.url()).searchParams.get('room') ?? '').toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      const room = new URL(page.url()).searchParams.get('room')!;
      await waitForStatus(page, 'waiting');
      await expect.poll(() => page.getByTestId('call-state').textContent()).toBe('Waiting for someone to join');
      expect(parley.signaling.rooms.view(room)?.peers.length).toBe(1);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('joins with the secret of a #secret= link: only tabs with that link meet, and the link keeps it', async () => {
    const room = 'secret-test';
    const link = `${parley.url}/?room=${room}#secret=tab%20secret`;
    const first = await openApp(context, link);
    const outsider = await openApp(context, `${parley.url}/?room=${room}`);
    const second = await openApp(context, link);
    try {
      await waitForStatus(outsider, 'waiting');
      await waitForStatus(first, 'connected');
      await waitForStatus(second, 'connected');
      expect(parley.signaling.rooms.view(roomKey(room, 'tab secret'))?.peers.length).toBe(2);
      expect(parley.signaling.rooms.view(room)?.peers.length).toBe(1);
      expect(new URL(first.url()).hash).toBe('#secret=tab%20secret');
    } finally {
      await Promise.all([first.close(), outsider.close(), second.close()]);
    }
  }, 60_000);

  it('calls between two tabs in one room, each playing the other’s video, and chats', async () => {
    const url = `${parley.url}/?room=call-test`;
    const first = await openApp(context, url);
    const second = await openApp(context, url);
    try {
      for (const page of [first, second]) {
        await waitForStatus(page, 'connected');
        await expect.poll(() => page.getByTestId('call-state').textContent()).toBe('In call');
        await expect
          .poll(() => page.getByTestId('call-state').getAttribute('data-state'))
          .toContain('connection.connected');
      }
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);

      // Chat over the data channel, both ways.
      await first.getByTestId('chat-input').fill('hello from the first tab');
      await first.getByTestId('chat-send').click();
      await expect
        .poll(() => second.getByTestId('chat-log').textContent(), { timeout: 15_000 })
        .toContain('hello from the first tab');
      await second.getByTestId('chat-input').fill('and back');
      await second.getByTestId('chat-input').press('Enter');
      await expect.poll(() => first.getByTestId('chat-log').textContent(), { timeout: 15_000 }).toContain('and back');
      await expect
        .poll(() => first.getByTestId('chat-log').locator('[data-author="me"]').textContent())
        .toContain('hello from the first tab');

      // Mic and camera toggles switch the local tracks off and on without renegotiation.
      const localTrackStates = () => sentTrackStates(first);
      expect(await localTrackStates()).toEqual(['audio:true', 'video:true']);
      await first.getByTestId('toggle-mic').click();
      await first.getByTestId('toggle-camera').click();
      expect(await localTrackStates()).toEqual(['audio:false', 'video:false']);
      expect(await first.getByTestId('toggle-mic').getAttribute('aria-pressed')).toBe('false');
      await first.getByTestId('toggle-mic').click();
      await first.getByTestId('toggle-camera').click();
      expect(await localTrackStates()).toEqual(['audio:true', 'video:true']);
    } finally {
      await first.close();
      await second.close();
    }
  }, 120_000);
});
