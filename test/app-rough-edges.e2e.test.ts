/**
 * The web app as a new user meets it, in real headless Chromium against a real Parley: an
 * invalid room name explained with a suggestion, copying the link on plain http without the
 * Clipboard API, keyboard shortcuts, hiding the chat, a phone on its side, the self-view with the
 * camera off, and notices that do not stack up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import {
  buildApp,
  expectRemoteVideoFlowing,
  noticeKinds,
  openApp,
  sentTrackStates,
  waitForStatus,
} from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/** Whether the element is on screen: laid out, visible, and inside the viewport. */
async function onScreen(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((query) => {
    const element = document.querySelector<HTMLElement>(query);
    if (element === null) return false;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return (
      box.width > 0 &&
      box.height > 0 &&
      style.display !== 'none' &&
      style.visibility !== 'hidden' &&
      box.left >= 0 &&
      box.top >= 0 &&
      box.right <= innerWidth &&
      box.bottom <= innerHeight
    );
  }, selector);
}

describe('the web app’s rough edges', () => {
  it('explains an invalid room name and links to a valid one, instead of joining another room', async () => {
    const page = await openApp(context, `${parley.url}/?room=Team%20Standup!#secret=k`);
    try {
      const notice = page.getByTestId('notice').locator('[data-kind="bad-room"]');
      await expect.poll(() => notice.count()).toBe(1);
      expect(await notice.textContent()).toContain('“Team Standup!” is not a valid room name');
      expect(await page.getByTestId('call-state').textContent()).toBe('Not a valid room name');
      // The address is left alone, and nobody joined any room.
      expect(new URL(page.url()).searchParams.get('room')).toBe('Team Standup!');
      expect(parley.signaling.rooms.size).toBe(0);

      const suggestion = notice.locator('a');
      expect(await suggestion.textContent()).toBe('Go to room “Team-Standup”');
      await suggestion.click();
      await waitForStatus(page, 'waiting');
      const url = new URL(page.url());
      expect(url.searchParams.get('room')).toBe('Team-Standup');
      expect(url.hash).toBe('#secret=k');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('copies the link on plain http without the Clipboard API, through a selected field', async () => {
    const page = await context.newPage();
    // As on an insecure page: no navigator.clipboard. The copy command's selection is recorded.
    await page.addInitScript(() => {
      delete (Navigator.prototype as { clipboard?: unknown }).clipboard;
      document.addEventListener('copy', () => {
        (window as { __copied?: string }).__copied = String(document.getSelection());
      });
    });
    try {
      await page.goto(`${parley.url}/?room=copy-test`);
      await waitForStatus(page, 'waiting');
      expect(await page.evaluate(() => 'clipboard' in navigator)).toBe(false);
      await page.getByTestId('copy-link').click();

      const href = page.url();
      await expect.poll(() => page.evaluate(() => (window as { __copied?: string }).__copied)).toBe(href);
      expect(await noticeKinds(page)).toContain('link-copied');
      // The link is also shown in the notice, selected, to copy by hand if the browser refused.
      const field = page.getByTestId('notice-field');
      expect(await field.inputValue()).toBe(href);
      expect(
        await field.evaluate((input: HTMLInputElement) => ({
          focused: document.activeElement === input,
          selected: input.value.slice(input.selectionStart ?? 0, input.selectionEnd ?? 0),
        })),
      ).toEqual({ focused: true, selected: href });
    } finally {
      await page.close();
    }
  }, 60_000);

  it('toggles mic and camera with M and V, the chat with C, but not while typing', async () => {
    const page = await openApp(context, `${parley.url}/?room=keys-test`);
    try {
      await waitForStatus(page, 'waiting');
      const pressed = async () => ({
        mic: await page.getByTestId('toggle-mic').getAttribute('aria-pressed'),
        camera: await page.getByTestId('toggle-camera').getAttribute('aria-pressed'),
      });
      const tracks = () => sentTrackStates(page);
      expect(await pressed()).toEqual({ mic: 'true', camera: 'true' });
      expect(await page.getByTestId('toggle-mic').getAttribute('title')).toBe('Turn mic off (M)');

      await page.keyboard.press('m');
      await page.keyboard.press('v');
      expect(await pressed()).toEqual({ mic: 'false', camera: 'false' });
      expect(await tracks()).toEqual(['audio:false', 'video:false']);

      // Typing in the chat field is typing, not shortcuts.
      await page.getByTestId('chat-input').fill('');
      await page.getByTestId('chat-input').pressSequentially('mvhc');
      expect(await page.getByTestId('chat-input').inputValue()).toBe('mvhc');
      expect(await pressed()).toEqual({ mic: 'false', camera: 'false' });
      expect(await page.evaluate(() => document.documentElement.classList.contains('chat-open'))).toBe(true);
      await page.getByTestId('chat-input').blur();

      await page.keyboard.press('M');
      await page.keyboard.press('V');
      expect(await pressed()).toEqual({ mic: 'true', camera: 'true' });
      expect(await tracks()).toEqual(['audio:true', 'video:true']);

      // ? lists the shortcuts.
      await page.keyboard.press('?');
      await expect.poll(() => noticeKinds(page)).toContain('shortcuts');
      expect(await page.getByTestId('notice').locator('[data-kind="shortcuts"]').textContent()).toContain(
        'M microphone on/off',
      );
      // H hangs up.
      await page.keyboard.press('h');
      await waitForStatus(page, 'closed');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('hides and shows the chat panel, and remembers it', async () => {
    const page = await openApp(context, `${parley.url}/?room=chat-hide-test`);
    try {
      await waitForStatus(page, 'waiting');
      expect(await onScreen(page, '[data-testid="chat-log"]')).toBe(true);
      const remoteWidth = async () => (await page.getByTestId('remote-video').boundingBox())!.width;
      const withChat = await remoteWidth();

      await page.locator('#chat-toggle').click();
      await expect.poll(() => onScreen(page, '[data-testid="chat-log"]')).toBe(false);
      expect(await remoteWidth()).toBeGreaterThan(withChat + 200);
      expect(await page.locator('#chat-toggle').getAttribute('aria-expanded')).toBe('false');

      // Remembered: a new page in this browser starts with the chat hidden.
      await page.reload();
      await waitForStatus(page, 'waiting');
      expect(await onScreen(page, '[data-testid="chat-log"]')).toBe(false);

      await page.keyboard.press('c');
      await expect.poll(() => onScreen(page, '[data-testid="chat-log"]')).toBe(true);
      await page.reload();
      await waitForStatus(page, 'waiting');
      expect(await onScreen(page, '[data-testid="chat-log"]')).toBe(true);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('on a phone on its side (844×390): both videos side by side and every control on screen', async () => {
    const phone = await browser.newContext({
      viewport: { width: 844, height: 390 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 1,
    });
    try {
      const url = `${parley.url}/?room=landscape-test`;
      const other = await openApp(context, url);
      const page = await openApp(phone, url);
      for (const tab of [other, page]) await waitForStatus(tab, 'connected');
      await expectRemoteVideoFlowing(page);

      const remote = (await page.getByTestId('remote-video').boundingBox())!;
      const local = (await page.getByTestId('local-video').boundingBox())!;
      // Side by side: the self-view is right of the remote video, not over it.
      expect(local.x).toBeGreaterThanOrEqual(remote.x + remote.width - 1);
      expect(local.width).toBeGreaterThan(200);
      expect(remote.width).toBeGreaterThan(450);
      expect(await onScreen(page, '[data-testid="remote-video"]')).toBe(true);
      expect(await onScreen(page, '[data-testid="local-video"]')).toBe(true);
      for (const control of ['toggle-mic', 'toggle-camera', 'hang-up', 'rejoin', 'copy-link']) {
        expect(await onScreen(page, `[data-testid="${control}"]`), control).toBe(true);
      }
      expect(await onScreen(page, '#chat-toggle')).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(844);
      // The chat starts closed and opens over the right-hand side.
      expect(await onScreen(page, '[data-testid="chat-log"]')).toBe(false);
      await page.locator('#chat-toggle').tap();
      await expect.poll(() => onScreen(page, '[data-testid="chat-input"]')).toBe(true);
      await other.close();
    } finally {
      await phone.close();
    }
  }, 90_000);

  it('keeps a placeholder in the self-view when the camera is off', async () => {
    const page = await openApp(context, `${parley.url}/?room=self-view-test`);
    try {
      await waitForStatus(page, 'waiting');
      expect(await onScreen(page, '[data-testid="local-placeholder"]')).toBe(false);
      await page.getByTestId('toggle-camera').click();
      await expect.poll(() => onScreen(page, '[data-testid="local-placeholder"]')).toBe(true);
      expect(await page.getByTestId('local-placeholder').textContent()).toContain('Camera off');
      const video = (await page.getByTestId('local-video').boundingBox())!;
      const placeholder = (await page.getByTestId('local-placeholder').boundingBox())!;
      expect(Math.abs(placeholder.x - video.x)).toBeLessThan(2);
      expect(Math.abs(placeholder.width - video.width)).toBeLessThan(2);
      await page.getByTestId('toggle-camera').click();
      await expect.poll(() => onScreen(page, '[data-testid="local-placeholder"]')).toBe(false);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('does not stack notices: the same notice twice shows once', async () => {
    const url = `${parley.url}/?room=notice-test`;
    const first = await openApp(context, url);
    try {
      for (let round = 0; round < 2; round++) {
        // The same notice twice: the other person leaves, comes back, and leaves again.
        const second = await openApp(context, url);
        await waitForStatus(first, 'connected');
        await second.close();
        await waitForStatus(first, 'waiting');
        await expect.poll(() => noticeKinds(first)).toEqual(['peer-left']);
      }
      // Copy link twice: one link notice.
      await first.getByTestId('copy-link').click();
      await first.getByTestId('copy-link').click();
      await expect
        .poll(async () => (await noticeKinds(first)).filter((kind) => kind.startsWith('link')).length)
        .toBe(1);
      expect((await noticeKinds(first)).length).toBeLessThanOrEqual(3);
    } finally {
      await first.close();
    }
  }, 90_000);
});
