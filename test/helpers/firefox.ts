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
 * Prefs for calls between tabs on one machine with no network beyond loopback
 * (https://searchfox.org/mozilla-esr140/source/modules/libpref/init/StaticPrefList.yaml).
 */
export const FIREFOX_WEBRTC_PREFS: Readonly<Record<string, unknown>> = {
  // A generated video (colour frames with a timestamp) and a tone instead of real devices, and no prompt.
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Gather 127.0.0.1 host candidates (off by default), so tabs on one machine reach each other
  // and a TURN server on 127.0.0.1 can be used.
  'media.peerconnection.ice.loopback': true,
  // Real host addresses instead of mDNS `.local` names: nothing on this machine answers mDNS.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Remote video with sound plays without a user gesture (0 = allowed) ...
  'media.autoplay.default': 0,
  // ... also in a tab that is not the selected one: otherwise Firefox holds back playback of
  // media in background tabs until the tab is shown, and only one of two tabs ever plays.
  'media.block-autoplay-until-in-foreground': false,
};

/** Launches headless Firefox with fake media; `extraPrefs` are added to (and override) the WebRTC prefs. */
export function launchFirefox(extraPrefs: Readonly<Record<string, unknown>> = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_WEBRTC_PREFS, ...extraPrefs },
  });
}

/**
 * A new Firefox tab that records its peer connections (as `openApp` in app.ts does for
 * Chromium), opened at `url`.
 */
export async function openAppInFirefox(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
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
