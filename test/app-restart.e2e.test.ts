/**
 * A restart drops no call, in real Chromium against the real `parley` command: two tabs in a
 * call, SIGTERM to the server, a new process on the same port (with the resume secret the first
 * one kept in the state directory). Each tab's socket.io-client reconnects by itself with its
 * resume token, the room re-forms around the two identities, and nothing is renegotiated: the
 * same peer connection, the same ICE credentials, video decoded all along. Signaling works
 * again afterwards: an ICE restart goes through the new process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';
import {
  buildApp,
  callStatusOf,
  expectRemoteVideoFlowing,
  localIceUfrag,
  noticeKinds,
  openApp,
  waitForStatus,
  expectSameCallThenIceRestart,
  framesDecoded,
} from './helpers/app.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let browser: Browser;

beforeAll(async () => {
  app = await buildApp();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.remove();
});

/** Video frames the page's current peer connection has decoded so far. */
async function health(origin: string): Promise<{ sessions: number; rooms: number }> {
  return (await (await fetch(`${origin}/healthz`)).json()) as { sessions: number; rooms: number };
}

describe('a restart of the signaling server', () => {
  it('keeps the call: media flows on the same peer connection, and an ICE restart works afterwards', async () => {
    const first = runParley(['serve', '--port', '0', '--static', app.dir, '--drain-timeout', '2']);
    const listening = (process: ParleyProcess) =>
      process.waitForRecord((record) => typeof record['url'] === 'string', 'the "listening" line', 60_000);
    let second: ParleyProcess | undefined;
    let watching = true;
    const contexts = [await browser.newContext(), await browser.newContext()];
    try {
      const origin = new URL(String((await listening(first))['url'])).origin;
      const port = new URL(origin).port;
      const pages = [
        await openApp(contexts[0], `${origin}/?room=restart`),
        await openApp(contexts[1], `${origin}/?room=restart`),
      ];
      for (const page of pages) await waitForStatus(page, 'connected', 45_000);
      for (const page of pages) await expectRemoteVideoFlowing(page);
      const ufrags = await Promise.all(pages.map(localIceUfrag));
      expect(ufrags.every((ufrag) => ufrag !== undefined)).toBe(true);

      // Watch the call status of both tabs through the restart: it must never leave `connected`.
      const statuses = new Set<string | null>();
      const watcher = (async () => {
        while (watching) {
          for (const page of pages) statuses.add(await callStatusOf(page).catch(() => 'page closed'));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const framesAtExit = await Promise.all(pages.map(framesDecoded));
      // The server is gone, the call is not: frames keep being decoded with no server at all.
      for (const [index, page] of pages.entries()) {
        await expect.poll(() => framesDecoded(page), { timeout: 10_000 }).toBeGreaterThan(framesAtExit[index] + 10);
      }

      second = runParley(['serve', '--port', port, '--static', app.dir]);
      // Generous: a fresh process compiles the sources with tsx, on a machine busy with two video tabs.
      await listening(second);
      // Both tabs come back by themselves into one room, with their old identities.
      await expect.poll(() => health(origin), { timeout: 30_000 }).toMatchObject({ sessions: 2, rooms: 1 });
      for (const page of pages)
        await expect.poll(() => noticeKinds(page), { timeout: 15_000 }).not.toContain('signaling-lost');
      watching = false;
      await watcher;

      expect([...statuses]).toEqual(['connected']);
      await expectSameCallThenIceRestart(pages, ufrags);
    } finally {
      watching = false;
      for (const context of contexts) await context.close();
      await first.stop('SIGKILL');
      await second?.stop();
    }
  }, 180_000);
});
