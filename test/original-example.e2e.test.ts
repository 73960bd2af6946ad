/**
 * Compatibility with the original "WebRTC working example": its page, unchanged but for the
 * signaling URL and served from another origin, makes a call between two Chromium tabs through
 * Parley started with `--allowed-origin '*'`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { inboundVideoBytes, launchChromium, serveDirectory, videoPlaying } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const require = createRequire(import.meta.url);
const exampleDir = fileURLToPath(new URL('./fixtures/original-example/', import.meta.url));

let parley: RunningParleyServer;
let site: Awaited<ReturnType<typeof serveDirectory>>;
let browser: Browser;

beforeAll(async () => {
  parley = await startTestServer({ allowedOrigins: '*' });
  site = await serveDirectory(
    exampleDir,
    (path, body) => (path === '/main.js' ? String(body).replace("'http://localhost:9999'", `'${parley.url}'`) : body),
    { '/socket.io.js': require.resolve('socket.io-client/dist/socket.io.js') },
  );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  parley?.close();
});

describe('the original example page', () => {
  it('is served from another origin than the signaling server', () => {
    expect(new URL(site.url).origin).not.toBe(new URL(parley.url).origin);
  });

  it('calls between two tabs through Parley, both ways playing video', async () => {
    const context = await browser.newContext();
    try {
      const first = await context.newPage();
      await first.goto(site.url);
      await expect.poll(() => parley.signaling.rooms.view('room')?.peers.length, { timeout: 15_000 }).toBe(1);
      const second = await context.newPage();
      await second.goto(site.url);
      await expect.poll(() => parley.signaling.rooms.view('room')?.state, { timeout: 15_000 }).toBe('ready');

      for (const page of [first, second]) {
        await expect
          .poll(async () => (await videoPlaying(page, '#remoteStream')).width, { timeout: 30_000 })
          .toBeGreaterThan(0);
      }
      for (const page of [first, second]) {
        const before = await inboundVideoBytes(page, 'pc');
        await expect.poll(() => inboundVideoBytes(page, 'pc'), { timeout: 15_000 }).toBeGreaterThan(before + 1_000);
      }
    } finally {
      await context.close();
    }
  }, 90_000);
});
