/**
 * TURN relaying end to end: real coturn on loopback (src/signaling/turn-server.ts), Parley
 * issuing its REST credentials, and two Chromium tabs with `?policy=relay` whose call runs
 * through the relay: the selected candidate pair's local candidate is of type `relay`; and one
 * whose first peer waited alone longer than its credentials live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import {
  buildApp,
  CURRENT_PC,
  expectRemoteVideoFlowing,
  openApp,
  selectedCandidatePair,
  waitForStatus,
} from './helpers/app.js';
import { startTurnServer, type RunningTurnServer } from '../src/signaling/turn-server.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let turn: RunningTurnServer;
let parley: RunningParleyServer;
/** The same, with credentials that live 4 s. */
let shortLived: RunningParleyServer;
let browser: Browser;
const SHORT_TTL_SECONDS = 4;

beforeAll(async () => {
  [app, turn] = await Promise.all([buildApp(), startTurnServer()]);
  parley = await startTestServer({
    staticDir: app.dir,
    turn: { turnUrls: turn.turnUrls, turnSecret: turn.secret, turnTtl: 600, stunUrls: [] },
  });
  shortLived = await startTestServer({
    staticDir: app.dir,
    turn: { turnUrls: turn.turnUrls, turnSecret: turn.secret, turnTtl: SHORT_TTL_SECONDS, stunUrls: [] },
  });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  shortLived?.close();
  await turn?.stop();
  await app?.remove();
});

/** The configuration of the page's current peer connection (its ICE servers and policy). */
function peerConfiguration(page: Page): Promise<RTCConfiguration> {
  return page.evaluate(
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
    (expression) => (new Function(`return (${expression});`)() as RTCPeerConnection).getConfiguration(),
    CURRENT_PC,
  );
}

describe('a call with ?policy=relay', () => {
  it('runs through coturn with the credentials Parley issued: the selected candidate pair is relay', async () => {
    const context = await browser.newContext();
    try {
      const url = `${parley.url}/?room=relay-test&policy=relay`;
      const first = await openApp(context, url);
      const second = await openApp(context, url);
      for (const page of [first, second]) await waitForStatus(page, 'connected', 45_000);
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);

      for (const page of [first, second]) {
        const configuration = await peerConfiguration(page);
        expect(configuration.iceTransportPolicy).toBe('relay');
        // The credentials are Parley's TURN REST ones, never the secret itself.
        const server = configuration.iceServers?.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
        expect(server?.username).toMatch(/^\d+:/);
        expect(server?.credential).not.toBe(turn.secret);

        await expect.poll(() => selectedCandidatePair(page), { timeout: 15_000 }).toMatchObject({ local: 'relay' });
      }
    } finally {
      await context.close();
    }
  }, 150_000);
});

describe('a peer that waited alone longer than its TURN credentials live', () => {
  it('still offers relay candidates: the server sent it fresh credentials before the first expired', async () => {
    const context = await browser.newContext();
    try {
      const url = `${shortLived.url}/?room=relay-late&policy=relay`;
      const first = await openApp(context, url);
      await waitForStatus(first, 'waiting', 30_000);
      /** The TURN username the first tab's peer connection would allocate with now. */
      const username = async () =>
        (await peerConfiguration(first)).iceServers?.find((s) => s.username !== undefined)?.username;
      await expect.poll(username).toMatch(/^\d+:/);
      const issued = await username();
      // The first peer offers, and so gathers, only once the second arrives: after its first
      // credentials expired (coturn then refuses an allocation with them: 401).
      await new Promise((resolve) => setTimeout(resolve, (SHORT_TTL_SECONDS + 2) * 1000));
      const expiryOf = (name: string | undefined) => Number(name?.split(':')[0]);
      expect(expiryOf(issued)).toBeLessThan(Date.now() / 1000);
      expect(expiryOf(await username())).toBeGreaterThan(Date.now() / 1000);

      const second = await openApp(context, url);
      for (const page of [first, second]) await waitForStatus(page, 'connected', 45_000);
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);
      await expect.poll(() => selectedCandidatePair(first), { timeout: 15_000 }).toMatchObject({ local: 'relay' });
    } finally {
      await context.close();
    }
  }, 150_000);
});
