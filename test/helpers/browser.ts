/**
 * Real headless Chromium (Debian's `chromium`) driven by playwright-core, with fake camera and
 * microphone, and the flags WebRTC on loopback needs.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** Where Debian's package puts Chromium; .ci/run installs it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Launches Chromium with fake media. Extra flags are appended. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // This machine has no network beyond loopback: keep Chromium from calling home.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}

/** Remote video size and inbound RTP bytes of the page's RTCPeerConnection found by `pcExpression`. */
export async function videoPlaying(page: Page, videoSelector: string): Promise<{ width: number; height: number }> {
  return page.evaluate((selector) => {
    const video = document.querySelector<HTMLVideoElement>(selector);
    return { width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0 };
  }, videoSelector);
}

/** Total inbound RTP bytes of video for the RTCPeerConnection that `pcExpression` evaluates to in the page. */
export async function inboundVideoBytes(page: Page, pcExpression: string): Promise<number> {
  return page.evaluate(async (expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the expression is test code naming a page variable
    const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
    if (!pc) return 0;
    let bytes = 0;
    (await pc.getStats()).forEach((report: { type: string; kind?: string; bytesReceived?: number }) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') bytes += report.bytesReceived ?? 0;
    });
    return bytes;
  }, pcExpression);
}

/** A plain static file server on loopback: "another origin" for pages under test. */
export async function serveDirectory(
  root: string,
  rewrite: (path: string, body: Buffer) => Buffer | string = (_path, body) => body,
  extraFiles: Record<string, string> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/$/, '/index.html');
    const file = extraFiles[path] ?? join(root, path.replaceAll('..', ''));
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
        res.end(rewrite(path, body));
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
