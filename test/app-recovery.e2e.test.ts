/**
 * Recovering from network trouble, in real Chromium against a real Parley and a real coturn.
 *
 * - Media path lost: the first tab reaches the network only through the TURN relay
 *   (`?policy=relay`); freezing coturn (SIGSTOP) cuts that tab's media path while its signaling
 *   stays up. Its peer connection goes `disconnected`, the peer machine tries an ICE restart, and
 *   once the relay is back (SIGCONT) media flows again on the same peer connection with fresh
 *   ICE credentials.
 * - Signaling lost: `context.setOffline(true)` in Chromium closes the tab's WebSocket at once, so
 *   the page says it is reconnecting to the server. The server holds the tab's seat (connection
 *   state recovery) and tells the other tab nothing; when the network is back the signaling
 *   recovers its session and the call goes on as it was: the same peer connections, no new
 *   negotiation. (A restart of the server itself: test/app-restart.e2e.test.ts.)
 * - Media path lost for good: the same cut, but the relay never comes back. After its ICE
 *   restarts run out the tab gives the call up: `failed`, with a notice saying why and what to do.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import {
  buildApp,
  callStatusOf,
  expectRemoteVideoFlowing,
  localIceUfrag,
  noticeKinds,
  openApp,
  selectedCandidatePair,
  waitForStatus,
} from './helpers/app.js';
import { startTurnServer, type RunningTurnServer } from '../src/signaling/turn-server.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { MAX_ICE_RESTARTS, PEER_TIMING } from '../src/machines/peer-machine.js';

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

/**
 * Deadlines for giving a call up, in milliseconds after coturn freezes: the browser's own
 * detection of the dead path, then the peer machine's worst case, in which every `disconnected`
 * grace, backoff and ICE restart timeout runs out in full, plus a margin for a loaded machine.
 */
const GIVING_UP = (() => {
  // Chromium calls the peer connection `disconnected` once its checks on the selected pair go
  // unanswered for 5 s (libwebrtc's CONNECTION_WRITE_CONNECT_TIMEOUT); about 6 s here.
  const detection = 5_000;
  // Late timers and slow pages on a loaded 2-core machine.
  const margin = 8_000;
  const backoffs = (attempts: number): number =>
    Array.from({ length: attempts }, (_, i) => PEER_TIMING.restartBaseDelay * 2 ** i).reduce((a, b) => a + b, 0);
  /** From `disconnected` until ICE restart `attempt` starts, at the latest. */
  const untilRestart = (attempt: number): number =>
    PEER_TIMING.disconnectGrace + backoffs(attempt) + (attempt - 1) * PEER_TIMING.restartTimeout;
  const failed = detection + untilRestart(MAX_ICE_RESTARTS) + PEER_TIMING.restartTimeout + margin;
  /** Watching the failed tab for longer than the longest timer of the machine's connection policy. */
  const hold = Math.max(
    PEER_TIMING.disconnectGrace,
    PEER_TIMING.restartBaseDelay * 2 ** (MAX_ICE_RESTARTS - 1),
    PEER_TIMING.restartTimeout,
  );
  /** Starting coturn and Parley, opening both tabs and getting the call up with video. */
  const setup = 20_000;
  return {
    setup,
    reconnecting: detection + margin,
    restart: (attempt: number) => detection + untilRestart(attempt) + margin,
    failed,
    hold,
    testTimeout: setup + failed + hold + 5_000,
  };
})();

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
          .toMatch(/^Connection lost, trying again \(\d of 3\)$/);
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

  it('says the server connection is lost while a tab is offline, and the call goes on when it is online', async () => {
    const offline = await browser.newContext();
    const other = await browser.newContext();
    try {
      const page = await openApp(offline, `${parley.url}/?room=signaling-loss`);
      const peer = await openApp(other, `${parley.url}/?room=signaling-loss`);
      for (const p of [page, peer]) await waitForStatus(p, 'connected', 45_000);
      await expectRemoteVideoFlowing(peer);
      const ufrags = await Promise.all([page, peer].map(localIceUfrag));

      await offline.setOffline(true);
      await expect.poll(() => noticeKinds(page), { timeout: 30_000 }).toContain('signaling-lost');
      // The seat is held: the other tab is told nothing, and its call goes on.
      await expect.poll(() => parley.signaling.rooms.view('signaling-loss')?.held, { timeout: 30_000 }).toBe(true);
      expect(await callStatusOf(peer)).toBe('connected');
      expect(await noticeKinds(peer)).not.toContain('peer-left');

      await offline.setOffline(false);
      await expect.poll(() => noticeKinds(page), { timeout: 60_000 }).not.toContain('signaling-lost');
      await expect.poll(() => parley.signaling.rooms.view('signaling-loss')?.held, { timeout: 30_000 }).toBe(false);
      for (const p of [page, peer]) {
        await waitForStatus(p, 'connected', 30_000);
        await expectRemoteVideoFlowing(p);
        // The same call: one peer connection each, with the ICE credentials it had.
        expect(await p.evaluate(() => (window as unknown as { __parleyPcs: unknown[] }).__parleyPcs.length)).toBe(1);
      }
      expect(await Promise.all([page, peer].map(localIceUfrag))).toEqual(ufrags);
      expect(await noticeKinds(peer)).not.toContain('peer-left');
    } finally {
      await offline.close();
      await other.close();
    }
  }, 180_000);

  it(
    'a call whose media path stays cut fails after its ICE restarts and says so clearly',
    async () => {
      // A coturn and a Parley of its own: this relay stays frozen to the end of the test.
      const frozenTurn = await startTurnServer();
      let server: RunningParleyServer | undefined;
      let cutOff: BrowserContext | undefined;
      let other: BrowserContext | undefined;
      const pages: Record<string, Page> = {};
      let frozenAt: number | undefined;
      let timelines = '';
      onTestFailed(() => console.error(`What the tabs showed, from the moment coturn froze:\n${timelines}`));
      try {
        server = await startTestServer({
          staticDir: app.dir,
          turn: { turnUrls: frozenTurn.turnUrls, turnSecret: frozenTurn.secret, turnTtl: 600, stunUrls: [] },
        });
        cutOff = await browser.newContext();
        other = await browser.newContext();
        const relayed = await openApp(cutOff, `${server.url}/?room=ice-gives-up&policy=relay`);
        const peer = await openApp(other, `${server.url}/?room=ice-gives-up`);
        Object.assign(pages, { relayed, peer });
        for (const page of [relayed, peer]) await waitForStatus(page, 'connected', GIVING_UP.setup);
        for (const page of [relayed, peer]) await expectRemoteVideoFlowing(page);
        await expect.poll(() => selectedCandidatePair(relayed), { timeout: 15_000 }).toMatchObject({ local: 'relay' });
        for (const page of [relayed, peer]) await recordShownCall(page);

        process.kill(frozenTurn.pid, 'SIGSTOP');
        const since = (frozenAt = Date.now());
        const until = (deadline: number, message: string) => ({
          timeout: Math.max(since + deadline - Date.now(), 1_000),
          message: `${message} (due ${deadline} ms after coturn froze)`,
        });
        const callState = relayed.getByTestId('call-state');

        await expect
          .poll(() => callStatusOf(relayed), until(GIVING_UP.reconnecting, 'reconnecting'))
          .toBe('reconnecting');
        for (let attempt = 1; attempt <= MAX_ICE_RESTARTS; attempt += 1) {
          await expect
            .poll(() => callState.textContent(), until(GIVING_UP.restart(attempt), `ICE restart ${attempt}`))
            .toBe(`Connection lost, trying again (${attempt} of ${MAX_ICE_RESTARTS})`);
        }
        await expect.poll(() => callStatusOf(relayed), until(GIVING_UP.failed, 'failed')).toBe('failed');

        const failedScreen = {
          text: 'Call failed',
          status: 'failed',
          restarts: String(MAX_ICE_RESTARTS),
          state: 'failed',
          notices: [
            {
              kind: 'call-failed',
              text: `The call dropped and could not be reconnected after ${MAX_ICE_RESTARTS} tries. Check your network, then press Rejoin.`,
              error: true,
            },
          ],
          // The notice says "press Rejoin": the button is there to press, and there is nothing to hang up.
          rejoinEnabled: true,
          hangUpEnabled: false,
        };
        expect(await callScreen(relayed)).toEqual(failedScreen);
        // The failed tab left the room, so the server told the other tab.
        await waitForStatus(peer, 'waiting', 5_000);

        // No flapping back: the tab stays failed, with its notice, for longer than any of the
        // machine's timers, and the page-side record shows nothing was shown between two looks.
        const failedAt = Date.now();
        while (Date.now() - failedAt < GIVING_UP.hold) {
          expect(await callScreen(relayed)).toEqual(failedScreen);
          await relayed.waitForTimeout(250);
        }
        const shown = await shownCalls(relayed);
        const firstFailed = shown.findIndex((entry) => entry.status === 'failed');
        expect(firstFailed).toBeGreaterThan(0);
        expect(shown.slice(firstFailed).map((entry) => entry.status)).toEqual(
          shown.slice(firstFailed).map(() => 'failed'),
        );
        // On the way there: reconnecting throughout, the restart count only ever rising.
        const wayDown = shown.slice(0, firstFailed).filter((entry) => entry.at >= since);
        expect(new Set(wayDown.map((entry) => entry.status))).toEqual(new Set(['reconnecting']));
        expect(wayDown.map((entry) => entry.text).filter((text, i, all) => text !== all[i - 1])).toEqual([
          'Connection lost, trying again',
          ...Array.from(
            { length: MAX_ICE_RESTARTS },
            (_, i) => `Connection lost, trying again (${i + 1} of ${MAX_ICE_RESTARTS})`,
          ),
        ]);
      } finally {
        timelines = await describeShownCalls(pages, frozenAt ?? Date.now()).catch(String);
        await Promise.allSettled([cutOff?.close(), other?.close()]);
        server?.close();
        process.kill(frozenTurn.pid, 'SIGCONT');
        await frozenTurn.stop();
      }
    },
    GIVING_UP.testTimeout,
  );
});

/** One change of what a tab shows about its call. */
interface ShownCall {
  /** `Date.now()` in the page. */
  readonly at: number;
  readonly status: string | undefined;
  readonly text: string;
  readonly restarts: string | undefined;
  /** The connection region's state (`disconnected`, `backingOff`, ...), else the whole state. */
  readonly connection: string | undefined;
  /** `kind: text` of each notice. */
  readonly notices: readonly string[];
}

/**
 * Records in the page every change of the call state and the notices (a MutationObserver), so a
 * test sees states that come and go between two of its looks.
 */
async function recordShownCall(page: Page): Promise<void> {
  await page.evaluate(() => {
    const callState = document.querySelector<HTMLElement>('[data-testid="call-state"]');
    const noticeArea = document.querySelector<HTMLElement>('[data-testid="notice"]');
    if (callState === null || noticeArea === null) throw new Error('the page has no call state or notice area');
    const shown: ShownCall[] = [];
    (window as unknown as { __shownCalls: ShownCall[] }).__shownCalls = shown;
    const record = (): void => {
      const state = callState.dataset['state'];
      const entry: ShownCall = {
        at: Date.now(),
        status: callState.dataset['status'],
        text: callState.textContent,
        restarts: callState.dataset['restarts'],
        connection: /\bconnection\.(\w+)/.exec(state ?? '')?.[1] ?? state,
        notices: [...noticeArea.querySelectorAll<HTMLElement>('[data-kind]')].map(
          (notice) => `${notice.dataset['kind'] ?? ''}: ${notice.textContent}`,
        ),
      };
      const last = shown.at(-1);
      if (last === undefined || JSON.stringify({ ...last, at: 0 }) !== JSON.stringify({ ...entry, at: 0 }))
        shown.push(entry);
    };
    const observer = new MutationObserver(record);
    for (const target of [callState, noticeArea])
      observer.observe(target, { attributes: true, childList: true, characterData: true, subtree: true });
    record();
  });
}

/** What the page shows about its call now: the call state, the notices, and the two call buttons. */
function callScreen(page: Page) {
  return page.evaluate(() => {
    const callState = document.querySelector<HTMLElement>('[data-testid="call-state"]');
    const button = (id: string) => document.querySelector<HTMLButtonElement>(`[data-testid="${id}"]`);
    return {
      text: callState?.textContent,
      status: callState?.dataset['status'],
      restarts: callState?.dataset['restarts'],
      state: callState?.dataset['state'],
      notices: [...document.querySelectorAll<HTMLElement>('[data-testid="notice"] [data-kind]')].map((notice) => ({
        kind: notice.dataset['kind'],
        text: notice.textContent,
        error: notice.classList.contains('error'),
      })),
      rejoinEnabled: button('rejoin')?.disabled === false,
      hangUpEnabled: button('hang-up')?.disabled === false,
    };
  });
}

/** What `recordShownCall` recorded in the page. */
function shownCalls(page: Page): Promise<ShownCall[]> {
  return page.evaluate(() => (window as unknown as { __shownCalls?: ShownCall[] }).__shownCalls ?? []);
}

/** The recorded changes of each page, one line each, timed from `since`. */
async function describeShownCalls(pages: Record<string, Page>, since: number): Promise<string> {
  const lines: string[] = [];
  for (const [name, page] of Object.entries(pages)) {
    lines.push(`${name}:`);
    for (const entry of await shownCalls(page)) {
      const at = `${((entry.at - since) / 1000).toFixed(1)} s`.padStart(8);
      lines.push(
        `${at}  ${entry.status} [${entry.connection}] "${entry.text}" restarts=${entry.restarts} ${JSON.stringify(entry.notices)}`,
      );
    }
  }
  return lines.join('\n');
}
