/**
 * A call over Parley's own TLS (`--cert`/`--key`) in real Chromium, at a name that is not
 * localhost: only https makes such a page a secure context, and only a secure context gets a
 * camera. The certificate is self-signed for parley.test; Chromium resolves that name to
 * 127.0.0.1 and trusts exactly this certificate's key (its SPKI hash), nothing else.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, noticeKinds, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const HOST = 'parley.test';

/** A self-signed certificate for `HOST` (P-256), and the base64 SHA-256 of its public key (SPKI). */
async function makeCertificate(dir: string): Promise<{ certFile: string; keyFile: string; spkiHash: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${HOST}`,
    '-addext',
    `subjectAltName=DNS:${HOST}`,
  ]);
  const spki = new X509Certificate(await readFile(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return { certFile, keyFile, spkiHash: createHash('sha256').update(spki).digest('base64') };
}

/** What the page says about its context. */
function contextOf(page: Page): Promise<{ secure: boolean; mediaDevices: boolean; origin: string }> {
  return page.evaluate(() => ({
    secure: window.isSecureContext,
    mediaDevices: navigator.mediaDevices !== undefined,
    origin: window.location.origin,
  }));
}

let certDir: string;
let app: Awaited<ReturnType<typeof buildApp>>;
let https: RunningParleyServer;
let plain: RunningParleyServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'parley-tls-'));
  const [certificate, built] = await Promise.all([makeCertificate(certDir), buildApp()]);
  app = built;
  https = await startTestServer({
    staticDir: app.dir,
    tls: { certFile: certificate.certFile, keyFile: certificate.keyFile },
  });
  plain = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium([
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${certificate.spkiHash}`,
  ]);
  context = await browser.newContext();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  https?.close();
  plain?.close();
  await app?.remove();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('Parley over its own TLS', () => {
  it('serves https at a non-loopback name as a secure context, and two tabs call with video flowing', async () => {
    expect(https.url).toMatch(/^https:\/\//);
    const url = `https://${HOST}:${https.port}/?room=tls`;
    const first = await openApp(context, url);
    const second = await openApp(context, url);
    try {
      for (const page of [first, second]) {
        expect(await contextOf(page)).toEqual({
          secure: true,
          mediaDevices: true,
          origin: `https://${HOST}:${https.port}`,
        });
      }
      await waitForStatus(first, 'connected');
      await waitForStatus(second, 'connected');
      expect(https.signaling.rooms.view('tls')?.peers.length).toBe(2);
      // Signaling runs over wss: on the same TLS port, through the same certificate.
      await expect.poll(() => https.engine.sessionsByTransport().websocket).toBe(2);
      for (const page of [first, second]) await expectRemoteVideoFlowing(page);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }, 60_000);

  it('is the reason: the same app over plain http at that name is no secure context and gets no camera', async () => {
    const page = await openApp(context, `http://${HOST}:${plain.port}/?room=plain`);
    try {
      expect(await contextOf(page)).toEqual({
        secure: false,
        mediaDevices: false,
        origin: `http://${HOST}:${plain.port}`,
      });
      await expect.poll(() => noticeKinds(page), { timeout: 15_000 }).toContain('insecure');
    } finally {
      await page.close();
    }
  }, 60_000);
});
