/**
 * The live state inspector end to end in real headless Chromium: a Parley with `inspect` on, two
 * tabs in a call opened with `?inspect` (so they publish their peer machines), and the viewer
 * page at `/inspector`. The viewer lists the room and both peers with their states, draws the
 * selected peer's statechart with the active state highlighted, keeps up with a thousand rooms
 * while rendering only the rows in view, and reconnects by itself after a server restart.
 *
 * The screenshot docs/screenshots/inspector.png is written only with PARLEY_UPDATE_SCREENSHOTS=1
 * (as in app-screenshots.e2e.test.ts); otherwise it goes to a temporary directory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const screenshots =
  process.env['PARLEY_UPDATE_SCREENSHOTS'] === '1'
    ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
    : join(mkdtempSync(join(tmpdir(), 'parley-screenshots-')), '/');

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir, inspect: {} });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/** Opens the viewer and fails the test on any Content-Security-Policy violation or page error. */
async function openViewer(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content.Security.Policy|Refused to/i.test(message.text()))
      problems.push(message.text());
  });
  await page.goto(url);
  return { page, problems };
}

const actorRow = (page: Page, id: string) => page.locator(`[data-testid="inspector-actor"][data-actor-id="${id}"]`);
const stateOf = (page: Page, id: string) => actorRow(page, id).getAttribute('data-state', { timeout: 2_000 });
/** The `data-state` of every listed actor of `kind` in `room`. */
const statesOf = (page: Page, kind: string, room: string) =>
  page
    .locator(`[data-testid="inspector-actor"][data-kind="${kind}"][data-room="${room}"]`)
    .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset['state'] ?? ''));

describe('the live state inspector', () => {
  it('shows the room ready, both peers connected, and draws a peer’s chart with its active state', async () => {
    const room = 'inspected-call';
    // The viewer first, so that it sees the whole call (a later one sees each actor's state, and what follows).
    const { page: viewer, problems } = await openViewer(parley.inspector!.pageUrl);
    await expect.poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status')).toBe('connected');
    const first = await openApp(context, `${parley.url}/?room=${room}&inspect`);
    const second = await openApp(context, `${parley.url}/?room=${room}&inspect`);
    try {
      await waitForStatus(first, 'connected');
      await waitForStatus(second, 'connected');

      await expect.poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status')).toBe('connected');
      await expect.poll(() => viewer.locator(`[data-testid="inspector-room"][data-room="${room}"]`).count()).toBe(1);
      await expect.poll(() => stateOf(viewer, `room:${room}`)).toBe('ready');
      await expect
        .poll(() => statesOf(viewer, 'peer', room), { timeout: 15_000 })
        .toEqual([
          expect.stringContaining('session.call.connection.connected'),
          expect.stringContaining('session.call.connection.connected'),
        ]);
      await expect.poll(() => statesOf(viewer, 'signaling', room)).toEqual(['connected', 'connected']);
      // Both tabs' Engine.IO sessions, open, with the WebSocket as their transport after the upgrade.
      await expect
        .poll(() =>
          viewer
            .locator('[data-testid="inspector-actor"][data-kind="session"]')
            .evaluateAll(
              (rows) =>
                rows.filter((row) => (row as HTMLElement).dataset['state']?.includes('open.transport.websocket'))
                  .length,
            ),
        )
        .toBeGreaterThanOrEqual(2);

      // Select a peer: its chart, with the connected state highlighted.
      const peerRow = viewer.locator(`[data-testid="inspector-actor"][data-kind="peer"][data-room="${room}"]`).first();
      const peerId = (await peerRow.getAttribute('data-actor-id'))!;
      await peerRow.click();
      const chart = viewer.getByTestId('inspector-chart');
      await expect.poll(() => chart.getAttribute('data-actor-id')).toBe(peerId);
      await expect.poll(() => chart.getAttribute('data-active')).toContain('session.call.connection.connected');
      const connected = chart.locator('g[data-state-id="session.call.connection.connected"]');
      await expect.poll(() => connected.getAttribute('class')).toContain('active-leaf');
      expect(
        await chart.locator('g[data-state-id="session.call.connection.backingOff"]').getAttribute('class'),
      ).not.toContain('active');
      expect(await chart.locator('g.state').count()).toBeGreaterThan(20);
      expect(await chart.locator('text.transition').count()).toBeGreaterThan(30);

      // Its event log, newest first, and its context; nothing secret or long in them.
      const log = viewer.getByTestId('inspector-event-log');
      await expect.poll(() => log.locator('tbody tr').count()).toBeGreaterThan(0);
      await expect.poll(() => log.textContent()).toMatch(/signal\.(answer|offer)/);
      const shown = `${await log.textContent()} ${await viewer.locator('#context').textContent()}`;
      expect(shown).toContain('[SDP, ');
      expect(shown).not.toMatch(/a=ice-pwd|a=fingerprint|typ host/);

      // The filter.
      await viewer.getByTestId('inspector-filter').fill('no-such-room-or-actor');
      await expect.poll(() => viewer.locator('[data-testid="inspector-actor"]').count()).toBe(0);
      await viewer.getByTestId('inspector-filter').fill(room);
      await expect.poll(() => viewer.locator('[data-testid="inspector-actor"]').count()).toBeGreaterThanOrEqual(5);
      await viewer.getByTestId('inspector-filter').fill('');

      await viewer.waitForTimeout(300);
      await viewer.bringToFront();
      writeFileSync(`${screenshots}inspector.png`, await viewer.screenshot());

      // Live: one tab hangs up; the room is back to waiting, that tab's actors are gone.
      await second.getByTestId('hang-up').click();
      await expect.poll(() => stateOf(viewer, `room:${room}`)).toBe('waiting');
      await expect.poll(() => statesOf(viewer, 'peer', room)).toEqual([expect.stringContaining('session.waiting')]);
      expect(problems).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close(), viewer.close()]);
    }
  }, 120_000);

  it('keeps up with a thousand rooms, rendering only the rows in view', async () => {
    const { page: viewer, problems } = await openViewer(parley.inspector!.pageUrl);
    try {
      await expect.poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status')).toBe('connected');
      // A thousand rooms of two peers each, through the server's real room registry.
      const rooms = parley.signaling.rooms;
      for (let i = 0; i < 1_000; i++) {
        const name = `load-${String(i).padStart(4, '0')}`;
        rooms.join(name, `${name}-a`);
        rooms.join(name, `${name}-b`);
      }
      await expect.poll(() => viewer.locator('#counts').textContent(), { timeout: 15_000 }).toContain('1000 rooms');
      const rendered = await viewer.locator('[data-testid="inspector-actor"], [data-testid="inspector-room"]').count();
      expect(rendered).toBeLessThan(100);

      // Scrolled to the end, the last room is there, still with few rows in the DOM.
      await viewer.getByTestId('inspector-list').evaluate((list) => (list.scrollTop = list.scrollHeight));
      await expect.poll(() => viewer.locator('[data-testid="inspector-room"][data-room="load-0999"]').count()).toBe(1);
      await expect.poll(() => stateOf(viewer, 'room:load-0999')).toBe('ready');

      // Live changes in a thousand rooms are rendered in batches: the page stays responsive.
      for (let i = 0; i < 1_000; i++) {
        const name = `load-${String(i).padStart(4, '0')}`;
        rooms.leave(name, `${name}-b`);
      }
      await expect.poll(() => stateOf(viewer, 'room:load-0999')).toBe('waiting');
      const started = Date.now();
      await viewer.getByTestId('inspector-filter').fill('load-0500');
      await expect.poll(() => viewer.locator('[data-testid="inspector-actor"]').count()).toBe(1);
      expect(Date.now() - started).toBeLessThan(3_000);
      for (let i = 0; i < 1_000; i++) {
        const name = `load-${String(i).padStart(4, '0')}`;
        rooms.leave(name, `${name}-a`);
      }
      await expect.poll(() => viewer.locator('#counts').textContent(), { timeout: 15_000 }).toContain('0 rooms');
      expect(problems).toEqual([]);
    } finally {
      await viewer.close();
    }
  }, 120_000);

  it('reconnects by itself after the server restarts, with the token of its page', async () => {
    const token = 'inspector-test-token';
    let server = await startTestServer({ staticDir: app.dir, inspect: { token } });
    const port = server.port;
    const { page: viewer, problems } = await openViewer(server.inspector!.pageUrl);
    const tab = await openApp(context, `${server.url}/?room=before-restart&inspect`);
    try {
      expect(server.inspector!.pageUrl).toContain(`token=${token}`);
      await expect.poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status')).toBe('connected');
      await expect.poll(() => stateOf(viewer, 'room:before-restart')).toBe('waiting');

      server.close();
      await expect
        .poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status'))
        .toBe('reconnecting');
      await expect.poll(() => viewer.getByTestId('inspector-connection').textContent()).toMatch(/Reconnecting/);

      server = await startTestServer({ staticDir: app.dir, port, inspect: { token } });
      await expect
        .poll(() => viewer.getByTestId('inspector-connection').getAttribute('data-status'), { timeout: 20_000 })
        .toBe('connected');
      // The tab's socket.io-client rejoined too: its room is back, in the new server's picture.
      await expect.poll(() => stateOf(viewer, 'room:before-restart'), { timeout: 20_000 }).toBe('waiting');
      await waitForStatus(tab, 'waiting');
      expect(problems).toEqual([]);
    } finally {
      await Promise.all([viewer.close(), tab.close()]);
      server.close();
    }
  }, 120_000);
});
