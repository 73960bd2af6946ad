/**
 * The peer reference model in real Chromium: a sample of the paths that
 * test/peer-adapter.model.test.ts drives in Node, here driven in a page, so that the adapter runs
 * on Chromium's own WebSocket, timers and event loop (the peer connection is still the fake, so
 * that the model decides what ICE does). The page is test/models/peer-adapter-harness.ts bundled
 * with esbuild, served by a real Parley; the other peer is a socket.io-client in this process.
 *
 * `parley/testing` as a user of the package runs it, against the React example's call screen,
 * is the example's own test (examples/react/test/call.model.test.tsx), which
 * test/examples.e2e.test.ts runs against the packed package.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { peerModelPaths, runPeerModelPath, type ModelPath, type PeerModelEvent } from '../src/testing/index.js';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { createPeerAdapterDriver, type PeerSide } from './models/peer-adapter-driver.js';
import { MODEL_STUN_URL, type PeerAdapterHarness } from './models/peer-adapter-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The page's entry: the harness on `window.parleyModel`. */
const PAGE_ENTRY = `
  import { createPeerAdapterHarness } from ${JSON.stringify(join(root, 'test/models/peer-adapter-harness.ts'))};
  let harness;
  window.parleyModel = {
    start(url, room) {
      harness = createPeerAdapterHarness(url, room);
    },
    perform: (event) => harness.perform(event),
    refuseNextRemoteDescription: () => harness.refuseNextRemoteDescription(),
    dataReceived: () => harness.dataReceived(),
    observe: () => harness.observe(),
    dispose: () => harness.dispose(),
  };
`;

interface PageModel {
  start(url: string, room: string): void;
  perform: PeerAdapterHarness['perform'];
  refuseNextRemoteDescription: PeerAdapterHarness['refuseNextRemoteDescription'];
  dataReceived: PeerAdapterHarness['dataReceived'];
  observe: PeerAdapterHarness['observe'];
  dispose(): void;
}
declare const window: { parleyModel: PageModel };

let work: string;
let server: RunningParleyServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-model-page-'));
  await build({
    stdin: { contents: PAGE_ENTRY, resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(work, 'model.js'),
    logLevel: 'silent',
  });
  await writeFile(
    join(work, 'index.html'),
    '<!doctype html><html><body><script type="module" src="/model.js"></script></body></html>',
  );
  server = await startTestServer({
    staticDir: work,
    turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3_600, stunUrls: [MODEL_STUN_URL] },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.parleyModel !== undefined);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  server?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** The harness in the page, as the driver's side under test. */
function pageSide(room: string): PeerSide {
  const started = page.evaluate(([url, name]) => window.parleyModel.start(url, name), [server.url, room] as const);
  return {
    perform: async (event) => {
      await started;
      await page.evaluate((e) => window.parleyModel.perform(e), event);
    },
    refuseNextRemoteDescription: () => page.evaluate(() => window.parleyModel.refuseNextRemoteDescription()),
    dataReceived: () => page.evaluate(() => window.parleyModel.dataReceived()),
    observe: async () => {
      await started;
      return page.evaluate(() => window.parleyModel.observe());
    },
    dispose: () => page.evaluate(() => window.parleyModel.dispose()),
  };
}

async function runInPage(paths: readonly ModelPath<PeerModelEvent>[]): Promise<void> {
  for (const [index, path] of paths.entries()) {
    const room = `sample-${index}`;
    const driver = createPeerAdapterDriver(server.url, room, pageSide(room));
    try {
      await runPeerModelPath(path, driver, { timeoutMs: 10_000 });
    } finally {
      await driver.dispose();
    }
  }
}

/** Every `step`-th path of `paths`, the longest first, so the sample takes second passes too. */
function sample(paths: readonly ModelPath<PeerModelEvent>[], count: number): ModelPath<PeerModelEvent>[] {
  const sorted = [...paths].sort((a, b) => b.events.length - a.events.length);
  const step = Math.max(1, Math.floor(sorted.length / count));
  return sorted.filter((_, index) => index % step === 0).slice(0, count);
}

describe('the peer reference model in Chromium', () => {
  const paths = sample(peerModelPaths(), 8);

  it(`drives a sample of ${paths.length} model paths against the adapter in the page`, async () => {
    expect(paths.length).toBe(8);
    await runInPage(paths);
  }, 120_000);
});
