/**
 * The examples (examples/vanilla, react, vue) as a user of the published package builds them:
 * Parley packed with `npm pack`, each example installed against the tarball in a temporary copy
 * and built with Vite, then served by the packed `parley serve --static` and called between two
 * Chromium tabs. The React example's own model-based test (examples/react/test) runs there too,
 * on `parley/testing` as the tarball has it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, serveDirectory } from './helpers/browser.js';
import { expectRemoteVideoFlowing, openApp, waitForStatus } from './helpers/app.js';
import { installExample, packParley, runExampleScript, serveInstalled } from './helpers/examples.js';

const EXAMPLES = ['vanilla', 'react', 'vue'] as const;

let work: string;
const installed = new Map<string, string>();
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-examples-'));
  const tarball = await packParley(work);
  // The three installs share npm's cache (and what they fetch), so they run side by side.
  await Promise.all(EXAMPLES.map(async (name) => installed.set(name, await installExample(name, tarball, work))));
  browser = await launchChromium();
  context = await browser.newContext();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.each(EXAMPLES)('the %s example, built against the packed tarball', (name) => {
  it('picks a room, calls a second tab that opens the link, shows both videos, and hangs up', async () => {
    const dir = installed.get(name)!;
    const parley = await serveInstalled(dir, join(dir, 'dist'));
    const first = await openApp(context, `${parley.url}/`);
    let second: Awaited<ReturnType<typeof openApp>> | undefined;
    try {
      await expect.poll(() => new URL(first.url()).searchParams.get('room') ?? '').toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      await waitForStatus(first, 'waiting');
      second = await openApp(context, first.url());
      for (const page of [first, second]) await waitForStatus(page, 'connected');
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);

      await second.getByTestId('hang-up').click();
      await waitForStatus(second, 'closed');
      await waitForStatus(first, 'waiting');
    } finally {
      await Promise.all([first.close(), second?.close()]);
      await parley.stop();
    }
  }, 90_000);
});

describe('the vanilla example served from another origin', () => {
  it('signals through the server its ?server= names', async () => {
    const dir = installed.get('vanilla')!;
    const site = await serveDirectory(join(dir, 'dist'));
    const parley = await serveInstalled(dir, join(dir, 'dist'), ['--allowed-origin', site.url]);
    const url = `${site.url}/?room=elsewhere&server=${encodeURIComponent(parley.url)}`;
    const first = await openApp(context, url);
    const second = await openApp(context, url);
    try {
      for (const page of [first, second]) await waitForStatus(page, 'connected');
      await expectRemoteVideoFlowing(second);
    } finally {
      await Promise.all([first.close(), second.close()]);
      await Promise.all([parley.stop(), site.close()]);
    }
  }, 60_000);
});

describe("the React example's model-based test", () => {
  it('checks its call screen against the reference model with parley/testing from the tarball', async () => {
    const dir = installed.get('react')!;
    // What the example imports is the packed package, fakes included, not this repository's sources.
    const testing = await readFile(join(dir, 'node_modules/parley/dist/testing/index.js'), 'utf8');
    expect(testing).toContain('fake-peer-connection.js');
    const output = await runExampleScript(dir, 'test');
    // vitest's summary, "Tests  344 passed (344)": every test passed, none skipped, and hundreds of paths ran.
    const [, passed = '0', total] = /Tests\s+(\d+) passed \((\d+)\)/.exec(output) ?? [];
    expect(Number(passed), output).toBeGreaterThan(200);
    expect(passed).toBe(total);
  }, 120_000);
});
