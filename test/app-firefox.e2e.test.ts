/**
 * The web app in real headless Firefox (Debian's firefox-esr, driven by puppeteer-core over
 * WebDriver BiDi) against a real Parley: calls between Firefox and Chromium, each one joining
 * first, and between two Firefox windows, with video both ways and chat over the data channel.
 *
 * Each side of a call is checked the same way, whatever the browser: the remote video has a size,
 * the page's own RTCPeerConnection (recorded by RECORD_PEER_CONNECTIONS) reports inbound video
 * bytes rising, and the video element presents new frames (`requestVideoFrameCallback`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as ChromiumBrowser, BrowserContext, Page as ChromiumPage } from 'playwright-core';
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import { inboundVideoBytes, launchChromium } from './helpers/browser.js';
import { firefoxInboundVideoBytes, launchFirefox, openAppInFirefox } from './helpers/firefox.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, CURRENT_PC, openApp } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

/** Generous for a loaded 2-core machine running two browsers; polls end as soon as they pass. */
const TIMEOUT = 45_000;

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let firefox: FirefoxBrowser;
let chromium: ChromiumBrowser;
let chromiumContext: BrowserContext;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium()]);
  chromiumContext = await chromium.newContext();
}, 120_000);
afterAll(async () => {
  await firefox?.close();
  await chromium?.close();
  parley?.close();
  await app?.remove();
});

/** What a remote video element shows: its size and how many frames it has presented. */
interface RemoteVideo {
  readonly width: number;
  readonly frames: number;
}

/**
 * Reads the remote video in the page (runs inside the page, in either browser). The first call
 * starts counting the frames the element presents with `requestVideoFrameCallback`, which both
 * browsers implement; `getVideoPlaybackQuality()` would not do, as Firefox reports 0 frames for
 * a MediaStream source.
 */
function readRemoteVideo(): RemoteVideo {
  const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
  const counter = window as typeof window & { parleyTestFrames?: number };
  if (video !== null && counter.parleyTestFrames === undefined) {
    counter.parleyTestFrames = 0;
    const count = () => {
      counter.parleyTestFrames = (counter.parleyTestFrames ?? 0) + 1;
      video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
  }
  return { width: video?.videoWidth ?? 0, frames: counter.parleyTestFrames ?? 0 };
}

/** The texts of the chat lines by `author` (`me`, `peer` or `system`); runs inside the page. */
function readChatLines(author: string): string[] {
  const lines = document.querySelectorAll(`[data-testid="chat-log"] [data-author="${author}"] .text`);
  return [...lines].map((line) => line.textContent ?? '');
}

/** One side of a call, in either browser: what the test reads and does through the page. */
interface Tab {
  readonly name: string;
  attribute(testId: string, name: string): Promise<string | null>;
  text(testId: string): Promise<string>;
  remoteVideo(): Promise<RemoteVideo>;
  chatLines(author: string): Promise<string[]>;
  inboundVideoBytes(): Promise<number>;
  sendChat(text: string): Promise<void>;
  close(): Promise<void>;
}

function chromiumTab(page: ChromiumPage, name: string): Tab {
  return {
    name,
    attribute: (testId, attribute) => page.getByTestId(testId).getAttribute(attribute),
    text: async (testId) => (await page.getByTestId(testId).textContent()) ?? '',
    remoteVideo: () => page.evaluate(readRemoteVideo),
    chatLines: (author) => page.evaluate(readChatLines, author),
    inboundVideoBytes: () => inboundVideoBytes(page, CURRENT_PC),
    async sendChat(text) {
      await page.getByTestId('chat-input').fill(text);
      await page.getByTestId('chat-send').click();
    },
    close: () => page.close(),
  };
}

function firefoxTab(page: FirefoxPage, name: string): Tab {
  const selector = (testId: string) => `[data-testid="${testId}"]`;
  return {
    name,
    attribute: (testId, attribute) =>
      page.$eval(selector(testId), (element, attributeName) => element.getAttribute(attributeName), attribute),
    text: (testId) => page.$eval(selector(testId), (element) => element.textContent ?? ''),
    remoteVideo: () => page.evaluate(readRemoteVideo),
    chatLines: (author) => page.evaluate(readChatLines, author),
    inboundVideoBytes: () => firefoxInboundVideoBytes(page),
    async sendChat(text) {
      await page.locator(selector('chat-input')).fill(text);
      await page.locator(selector('chat-send')).click();
    },
    close: () => page.close(),
  };
}

async function openChromiumTab(url: string): Promise<Tab> {
  return chromiumTab(await openApp(chromiumContext, url), 'Chromium');
}

async function openFirefoxTab(url: string, name = 'Firefox'): Promise<Tab> {
  return firefoxTab(await openAppInFirefox(firefox, url), name);
}

/** Waits until the tab shows the call as up: status `connected`, in words, and in the raw state. */
async function expectInCall(tab: Tab): Promise<void> {
  await expect
    .poll(() => tab.attribute('call-state', 'data-status'), { timeout: TIMEOUT, message: `call status in ${tab.name}` })
    .toBe('connected');
  expect(await tab.text('call-state')).toBe('In call');
  await expect
    .poll(() => tab.attribute('call-state', 'data-state'), { timeout: TIMEOUT, message: `raw state in ${tab.name}` })
    .toContain('connection.connected');
}

/** Waits until the tab plays the other side's video: a size, inbound video bytes rising, frames presented. */
async function expectPlayingRemoteVideo(tab: Tab): Promise<void> {
  await expect
    .poll(async () => (await tab.remoteVideo()).width, {
      timeout: TIMEOUT,
      message: `remote video size in ${tab.name}`,
    })
    .toBeGreaterThan(0);
  const bytes = await tab.inboundVideoBytes();
  const { frames } = await tab.remoteVideo();
  await expect
    .poll(() => tab.inboundVideoBytes(), { timeout: TIMEOUT, message: `inbound video bytes in ${tab.name}` })
    .toBeGreaterThan(bytes + 5_000);
  await expect
    .poll(async () => (await tab.remoteVideo()).frames, {
      timeout: TIMEOUT,
      message: `presented remote video frames in ${tab.name}`,
    })
    .toBeGreaterThan(frames + 10);
}

/** Sends `text` from one tab over the data channel and waits until the other shows it as the peer's. */
async function expectChat(from: Tab, to: Tab, text: string): Promise<void> {
  await from.sendChat(text);
  // Shown as ours only if the channel took it (else the app says "Not sent").
  expect(await from.chatLines('me')).toContain(text);
  await expect
    .poll(() => to.chatLines('peer'), { timeout: TIMEOUT, message: `chat from ${from.name} in ${to.name}` })
    .toContain(text);
}

/** A full call between `first` (who joined first) and `second`: video both ways, chat both ways. */
async function expectCall(first: Tab, second: Tab): Promise<void> {
  for (const tab of [first, second]) await expectInCall(tab);
  for (const tab of [first, second]) await expectPlayingRemoteVideo(tab);
  await expectChat(first, second, `hello from ${first.name}`);
  await expectChat(second, first, `and back from ${second.name}`);
}

describe('the web app in Firefox', () => {
  it('calls between Firefox, joining first, and Chromium, with video and chat both ways', async () => {
    const url = `${parley.url}/?room=firefox-first`;
    const first = await openFirefoxTab(url);
    const second = await openChromiumTab(url);
    try {
      await expectCall(first, second);
    } finally {
      await second.close();
      await first.close();
    }
  }, 180_000);

  it('calls between Chromium, joining first, and Firefox, with video and chat both ways', async () => {
    const url = `${parley.url}/?room=chromium-first`;
    const first = await openChromiumTab(url);
    const second = await openFirefoxTab(url);
    try {
      await expectCall(first, second);
    } finally {
      await second.close();
      await first.close();
    }
  }, 180_000);

  it('calls between two Firefox windows, each playing the other’s video, and chats', async () => {
    const url = `${parley.url}/?room=firefox-both`;
    const first = await openFirefoxTab(url, 'Firefox window 1');
    const second = await openFirefoxTab(url, 'Firefox window 2');
    try {
      await expectCall(first, second);
    } finally {
      await second.close();
      await first.close();
    }
  }, 180_000);
});
