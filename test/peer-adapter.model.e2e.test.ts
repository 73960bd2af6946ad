/**
 * The peer reference model in real Chromium, two ways:
 *
 * - A sample of the paths that test/peer-adapter.model.test.ts drives in Node, here driven in a
 *   page: the adapter runs on Chromium's own WebSocket, timers and event loop (the peer
 *   connection is still the fake, so that the model decides what ICE does).
 * - `parley/testing` as a user of the package would use it on their own UI: the React example's
 *   call screen (examples/react/src/call.tsx) rendered in the page, driven through its UI (its
 *   hang-up button) and checked by what it shows (its status), nothing else.
 *
 * The page is test/models/peer-adapter-harness.ts and the example's component bundled with
 * esbuild, served by a real Parley; the other peer is a socket.io-client in this process.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import {
  peerModelPaths,
  runPeerModelPath,
  type ModelPath,
  type PeerModelEvent,
  type PeerModelEventType,
} from '../src/testing/index.js';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { createPeerAdapterDriver, type PeerSide } from './models/peer-adapter-driver.js';
import { MODEL_STUN_URL, type PeerAdapterHarness } from './models/peer-adapter-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The page's entry: the harness on `window.parleyModel`, and the example's call screen on demand. */
const PAGE_ENTRY = `
  import { createElement } from 'react';
  import { createRoot } from 'react-dom/client';
  import { Call } from ${JSON.stringify(join(root, 'examples/react/src/call.tsx'))};
  import { createPeerAdapterHarness } from ${JSON.stringify(join(root, 'test/models/peer-adapter-harness.ts'))};
  let harness;
  let screen;
  window.parleyModel = {
    start(url, room, withCallScreen) {
      harness = createPeerAdapterHarness(url, room);
      if (withCallScreen) {
        screen = createRoot(document.getElementById('root'));
        screen.render(createElement(Call, { call: harness.adapter, localStream: undefined }));
      }
    },
    perform: (event) => harness.perform(event),
    refuseNextRemoteDescription: () => harness.refuseNextRemoteDescription(),
    dataReceived: () => harness.dataReceived(),
    observe: () => harness.observe(),
    dispose() {
      screen?.unmount();
      screen = undefined;
      harness.dispose();
    },
  };
`;

interface PageModel {
  start(url: string, room: string, withCallScreen: boolean): void;
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
    jsx: 'automatic',
    outfile: join(work, 'model.js'),
    // The example imports the package by name; here it is the source the package is built from.
    alias: {
      'parley/react': join(root, 'src/react/index.ts'),
      'parley/client': join(root, 'src/client/index.ts'),
    },
    logLevel: 'silent',
  });
  await writeFile(
    join(work, 'index.html'),
    '<!doctype html><html><body><div id="root"></div><script type="module" src="/model.js"></script></body></html>',
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

/** The harness in the page, as the driver's side under test; with the call screen, seen through it only. */
function pageSide(room: string, withCallScreen: boolean): PeerSide {
  const started = page.evaluate(([url, name, screen]) => window.parleyModel.start(url, name, screen), [
    server.url,
    room,
    withCallScreen,
  ] as const);
  return {
    perform: async (event) => {
      await started;
      // The call screen's own control for hanging up; everything else is the world around it.
      if (withCallScreen && event.type === 'user.hangUp') await page.getByTestId('hang-up').click();
      else await page.evaluate((e) => window.parleyModel.perform(e), event);
    },
    refuseNextRemoteDescription: () => page.evaluate(() => window.parleyModel.refuseNextRemoteDescription()),
    dataReceived: () => page.evaluate(() => window.parleyModel.dataReceived()),
    observe: async () => {
      await started;
      if (!withCallScreen) return page.evaluate(() => window.parleyModel.observe());
      // What the user sees: the status the example renders.
      const status = await page.getByTestId('call-state').getAttribute('data-status');
      return { status: status as never };
    },
    dispose: () => page.evaluate(() => window.parleyModel.dispose()),
  };
}

async function runInPage(paths: readonly ModelPath<PeerModelEvent>[], withCallScreen: boolean): Promise<void> {
  for (const [index, path] of paths.entries()) {
    const room = `${withCallScreen ? 'screen' : 'sample'}-${index}`;
    const driver = createPeerAdapterDriver(server.url, room, pageSide(room, withCallScreen));
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
    await runInPage(paths, false);
  }, 120_000);
});

describe('parley/testing against the React example', () => {
  // The example's screen joins on load and has a hang-up button: no rejoin control.
  const events: PeerModelEventType[] = [
    'user.join',
    'user.hangUp',
    'remote.join',
    'remote.leave',
    'remote.offer',
    'remote.answer',
    'remote.candidate',
    'pc.connected',
    'pc.disconnected',
    'pc.failed',
    'clock.connectTimeout',
    'clock.disconnectGrace',
    'clock.restartBackoff',
    'clock.restartTimeout',
  ];
  const paths = sample(peerModelPaths({ events, secondPasses: false }), 10);

  it(`shows the status the model expects along ${paths.length} paths, hanging up with its button`, async () => {
    expect(paths.some((path) => path.events.some((event) => event.type === 'user.hangUp'))).toBe(true);
    await runInPage(paths, true);
  }, 120_000);
});
