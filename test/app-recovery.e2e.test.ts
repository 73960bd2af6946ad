/**
 * Recovering from network trouble, in real Chromium against a real Parley and a real coturn.
 *
 * - Media path lost: the first tab reaches the network only through the TURN relay
 *   (`?policy=relay`); freezing coturn (SIGSTOP) cuts that tab's media path while its signaling
 *   stays up. Its peer connection goes `disconnected`, the peer machine tries an ICE restart, and
 *   once the relay is back (SIGCONT) media flows again on the same peer connection with fresh
 *   ICE credentials.
 * - Signaling lost: `context.setOffline(true)` in Chromium closes the tab's WebSocket at once, so
 *   the page says it is reconnecting to the server, the server tells the other tab the peer left
 *   (which ends that call), and when the network is back the signaling reconnects and the call is
 *   set up again from scratch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import {
  buildApp,
  expectRemoteVideoFlowing,
  localIceUfrag,
  noticeKinds,
  openApp,
  selectedCandidatePair,
  waitForStatus,
} from './helpers/app.js';
import { startTurnServer, type RunningTurnServer } from '../src/signaling/turn-server.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let turn: RunningTurnServer;
let parley: RunningParleyServer;
let browser: Browser;

beforeAll(async () => {
  [app, turn] = await Promise.all([buildApp(), startTurnServer()]);
  parley = await startTestServer({
    staticDir: app.dir,
    turn: { turnUrls: turn.turnUrls, turnSecret: turn.secret, turnTtl: 600, stunUrls: [] },
  });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await turn?.stop();
  await app?.remove();
});

describe('recovery', () => {
  it('restarts ICE after the media path of one tab is cut, and media flows again', async () => {
    const cutOff = await browser.newContext();
    const other = await browser.newContext();
    try {
      const relayed = await openApp(cutOff, `${parley.url}/?room=ice-restart&policy=relay`);
      const peer = await openApp(other, `${parley.url}/?room=ice-restart`);
      for (const page of [relayed, peer]) await waitForStatus(page, 'connected', 45_000);
      for (const page of [relayed, peer]) await expectRemoteVideoFlowing(page);
      await expect.poll(() => selectedCandidatePair(relayed), { timeout: 15_000 }).toMatchObject({ local: 'relay' });
      const ufragBefore = await localIceUfrag(relayed);
      expect(ufragBefore).toBeDefined();

      process.kill(turn.pid, 'SIGSTOP');
      try {
        // The machine waits out the disconnected grace and a backoff, then restarts ICE.
        await expect
          .poll(() => relayed.getByTestId('call-state').getAttribute('data-restarts'), { timeout: 60_000 })
          .not.toBe('0');
        await expect
          .poll(() => relayed.getByTestId('call-state').textContent())
          .toMatch(/^Reconnecting \(ICE restart \d of 3\)$/);
      } finally {
        process.kill(turn.pid, 'SIGCONT');
      }

      for (const page of [relayed, peer]) await waitForStatus(page, 'connected', 60_000);
      for (const page of [relayed, peer]) await expectRemoteVideoFlowing(page);
      // An ICE restart, not a new call: same peer connection, new ICE credentials, still relayed.
      expect(await localIceUfrag(relayed)).not.toBe(ufragBefore);
      for (const page of [relayed, peer])
        expect(await page.evaluate(() => (window as unknown as { __parleyPcs: unknown[] }).__parleyPcs.length)).toBe(1);
      await expect.poll(() => selectedCandidatePair(relayed), { timeout: 15_000 }).toMatchObject({ local: 'relay' });
    } finally {
      await cutOff.close();
      await other.close();
    }
  }, 180_000);

  it('says the server connection is lost while a tab is offline, and the call comes back when it is online', async () => {
    const offline = await browser.newContext();
    const other = await browser.newContext();
    try {
      const page = await openApp(offline, `${parley.url}/?room=signaling-loss`);
      const peer = await openApp(other, `${parley.url}/?room=signaling-loss`);
      for (const p of [page, peer]) await waitForStatus(p, 'connected', 45_000);
      await expectRemoteVideoFlowing(peer);

      await offline.setOffline(true);
      await expect.poll(() => noticeKinds(page), { timeout: 30_000 }).toContain('signaling-lost');
      await waitForStatus(peer, 'waiting', 30_000);
      await expect.poll(() => noticeKinds(peer)).toContain('peer-left');

      await offline.setOffline(false);
      for (const p of [page, peer]) await waitForStatus(p, 'connected', 60_000);
      for (const p of [page, peer]) await expectRemoteVideoFlowing(p);
      await expect.poll(() => noticeKinds(page)).not.toContain('signaling-lost');
    } finally {
      await offline.close();
      await other.close();
    }
  }, 180_000);
});
