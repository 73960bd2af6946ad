/**
 * Helpers for end-to-end tests of the web app (src/client/app) in real Chromium: build it into a
 * per-file temporary directory (test files run two at a time), serve it from a real Parley, and
 * look inside the page's RTCPeerConnections, which the app keeps private, by recording every
 * one the page creates.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { CallStatusName } from '../../src/machines/peer-status.js';
import { inboundVideoBytes, videoPlaying } from './browser.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the web app with Vite into a fresh temporary directory and returns it. */
export async function buildApp(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'parley-web-'));
  const dir = join(parent, 'web');
  await promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: root,
    },
  );
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

/**
 * Run in every page before its scripts: keeps each RTCPeerConnection the page creates in
 * `window.__parleyPcs` (the adapter reads the global constructor when it is created).
 */
export const RECORD_PEER_CONNECTIONS = `
  (() => {
    const Native = window.RTCPeerConnection;
    window.__parleyPcs = [];
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        window.__parleyPcs.push(this);
      }
    };
  })();
`;

/** What the page's current peer connection sends, as sorted `kind:enabled` ({@link RECORD_PEER_CONNECTIONS}). */
export function sentTrackStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __parleyPcs: RTCPeerConnection[] }).__parleyPcs
      .at(-1)!
      .getSenders()
      .flatMap((sender) => (sender.track === null ? [] : [`${sender.track.kind}:${sender.track.enabled}`]))
      .sort(),
  );
}

/** The page's current (newest) RTCPeerConnection, as an expression for `inboundVideoBytes`. */
export const CURRENT_PC = 'window.__parleyPcs?.at(-1)';

/** A new page in `context` that records its peer connections, opened at `url`. */
export async function openApp(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(RECORD_PEER_CONNECTIONS);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  return page;
}

/** The call status the page shows (`data-status` of the call-state element). */
export function callStatusOf(page: Page): Promise<string | null> {
  return page.getByTestId('call-state').getAttribute('data-status');
}

/** Waits until the page shows `status`. */
export async function waitForStatus(page: Page, status: CallStatusName, timeout = 30_000): Promise<void> {
  await expect.poll(() => callStatusOf(page), { timeout, message: `call status of ${page.url()}` }).toBe(status);
}

/** The kinds of the notices the page shows now. */
export function noticeKinds(page: Page): Promise<string[]> {
  return page
    .getByTestId('notice')
    .locator('[data-kind]')
    .evaluateAll((elements) => elements.map((e) => (e as HTMLElement).dataset['kind'] ?? ''));
}

/** Waits until the remote video has frames and its inbound RTP video bytes keep rising. */
export async function expectRemoteVideoFlowing(page: Page, timeout = 30_000): Promise<void> {
  await expect
    .poll(async () => (await videoPlaying(page, '[data-testid="remote-video"]')).width, {
      timeout,
      message: `remote video size in ${page.url()}`,
    })
    .toBeGreaterThan(0);
  const before = await inboundVideoBytes(page, CURRENT_PC);
  await expect
    .poll(() => inboundVideoBytes(page, CURRENT_PC), { timeout, message: `inbound video bytes in ${page.url()}` })
    .toBeGreaterThan(before + 5_000);
}

/** The candidate types of the selected pair of the page's current peer connection. */
export function selectedCandidatePair(page: Page): Promise<{ local: string; remote: string } | undefined> {
  return page.evaluate(async (expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
    const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
    if (!pc) return undefined;
    const reports = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((report: Record<string, unknown>) => reports.set(report['id'] as string, report));
    const transport = [...reports.values()].find((r) => r['type'] === 'transport' && r['selectedCandidatePairId']);
    const pair = transport ? reports.get(transport['selectedCandidatePairId'] as string) : undefined;
    if (!pair) return undefined;
    const local = reports.get(pair['localCandidateId'] as string);
    const remote = reports.get(pair['remoteCandidateId'] as string);
    return { local: String(local?.['candidateType']), remote: String(remote?.['candidateType']) };
  }, CURRENT_PC);
}

/** The ICE username fragment of the page's current local description (it changes on an ICE restart). */
export function localIceUfrag(page: Page): Promise<string | undefined> {
  return page.evaluate((expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
    const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
    return /a=ice-ufrag:(\S+)/.exec(pc?.localDescription?.sdp ?? '')?.[1];
  }, CURRENT_PC);
}

/** Video frames the page's current peer connection has decoded so far. */
export function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async (expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
    const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
    let frames = 0;
    (await pc?.getStats())?.forEach((report: Record<string, unknown>) => {
      if (report['type'] === 'inbound-rtp' && report['kind'] === 'video')
        frames += Number(report['framesDecoded'] ?? 0);
    });
    return frames;
  }, CURRENT_PC);
}

/** How many peer connections the page has made since it loaded. */
export function peerConnectionCount(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __parleyPcs: unknown[] }).__parleyPcs.length);
}

/**
 * The call the tabs were in survived (one peer connection each, video flowing, the ICE
 * credentials `ufrags` they had before: no new offer), and later signaling still works: an ICE
 * restart from the first tab gives both sides new credentials and the call connects again.
 */
export async function expectSameCallThenIceRestart(pages: readonly Page[], ufrags: readonly (string | undefined)[]) {
  for (const page of pages) {
    expect(await peerConnectionCount(page)).toBe(1);
    await expectRemoteVideoFlowing(page);
  }
  expect(await Promise.all(pages.map(localIceUfrag))).toEqual(ufrags);
  await pages[0]?.evaluate((expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- test code naming a page variable
    (new Function(`return (${expression});`)() as RTCPeerConnection).restartIce();
  }, CURRENT_PC);
  for (const [index, page] of pages.entries()) {
    await expect.poll(() => localIceUfrag(page), { timeout: 30_000 }).not.toBe(ufrags[index]);
  }
  for (const page of pages) {
    await waitForStatus(page, 'connected', 30_000);
    await expectRemoteVideoFlowing(page);
    expect(await peerConnectionCount(page)).toBe(1);
  }
}
