/**
 * Real headless Firefox (Debian's `firefox-esr`) driven by puppeteer-core over WebDriver BiDi,
 * with fake camera and microphone and the prefs WebRTC on loopback needs. The counterpart of
 * `launchChromium` in browser.ts; puppeteer-core never downloads a browser of its own.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CURRENT_PC, RECORD_PEER_CONNECTIONS } from './app.js';

/** Where Debian's package puts Firefox ESR; .ci/run installs it. */
export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/**
 * Prefs for calls between pages on one machine
 * (https://searchfox.org/mozilla-central/source/modules/libpref/init/StaticPrefList.yaml).
 * Puppeteer adds its own prefs for automation (no updates, no first-run pages, no telemetry).
 */
export const FIREFOX_WEBRTC_PREFS: Readonly<Record<string, unknown>> = {
  // A generated video (colour frames with a timestamp) and a tone instead of real devices, and no prompt.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Gather 127.0.0.1 host candidates (off by default): needed where loopback is the only
  // interface, and to reach a TURN server on 127.0.0.1.
  'media.peerconnection.ice.loopback': true,
  // Real host addresses instead of mDNS `.local` names: nothing on this machine answers mDNS.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Remote video with sound plays without a user gesture (0 = allowed), also in a page that
  // captures nothing (Firefox lets capturing pages autoplay anyway).
  'media.autoplay.default': 0,
};

/** Launches headless Firefox with fake media; `extraPrefs` are added to (and override) the WebRTC prefs. */
export function launchFirefox(extraPrefs: Readonly<Record<string, unknown>> = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    // Starting takes a few seconds; much longer on a loaded 2-core machine.
    timeout: 90_000,
    extraPrefsFirefox: { ...FIREFOX_WEBRTC_PREFS, ...extraPrefs },
  });
}

/**
 * A new Firefox page that records its peer connections (as `openApp` in app.ts does for
 * Chromium), opened at `url`. Each page gets a window of its own, as two people in a call each
 * look at their own: Firefox does not paint a tab that is not the selected one in its window, so
 * a second tab in the same window would hide the first one's video frames.
 */
export async function openAppInFirefox(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ type: 'window' });
  await page.evaluateOnNewDocument(RECORD_PEER_CONNECTIONS);
  page.on('pageerror', (error) => console.error(`[firefox page error] ${String(error)}`));
  await page.goto(url);
  return page;
}

/** Size of the video that `selector` names in the page (0 by 0 until it has a frame). */
export function firefoxVideoSize(page: Page, selector: string): Promise<{ width: number; height: number }> {
  return page.evaluate((videoSelector) => {
    const video = document.querySelector<HTMLVideoElement>(videoSelector);
    return { width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0 };
  }, selector);
}

/** Total inbound RTP video bytes of the page's current peer connection (0 if it has none). */
export function firefoxInboundVideoBytes(page: Page): Promise<number> {
  return page.evaluate(async (expression) => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the expression is test code naming a page variable
    const pc = new Function(`return (${expression});`)() as RTCPeerConnection | undefined;
    if (!pc) return 0;
    let bytes = 0;
    (await pc.getStats()).forEach((report: { type: string; kind?: string; bytesReceived?: number }) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') bytes += report.bytesReceived ?? 0;
    });
    return bytes;
  }, CURRENT_PC);
}
