/**
 * How the web app starts, in real headless Chromium against a real Parley: the inline script at
 * the top of the page asks for the camera before any script file has arrived, the page's
 * Content-Security-Policy allows that one script by its hash, the app takes the request over
 * instead of asking again, and the call page is preloaded beside the first chunk. (The time this
 * saves is measured by bench/time-to-media.ts, not here.)
 */
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { startTestServer } from './helpers/parley.js';
import { buildApp, expectRemoteVideoFlowing, noticeKinds, openApp, waitForStatus } from './helpers/app.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let parley: RunningParleyServer;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  app = await buildApp();
  parley = await startTestServer({ staticDir: app.dir });
  browser = await launchChromium();
  context = await browser.newContext();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  parley?.close();
  await app?.remove();
});

/**
 * Run before the page's scripts: records each getUserMedia call and each WebSocket opened (whether
 * an inline script made it, and whether the parser had reached any script file's tag by then,
 * which no script file can run before) and every CSP violation. (Whether a script file had been *fetched* by then is a race with
 * the preload scanner, and says nothing about the order in which scripts run.)
 */
const RECORD_STARTUP = `
  (() => {
    window.__startup = { media: [], sockets: [], violations: [] };
    const where = () => {
      const script = document.currentScript;
      return {
        inline: script !== null && script.src === '',
        scriptFileTagsParsed: document.querySelector('script[src]') !== null,
      };
    };
    const native = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = function (...args) {
      window.__startup.media.push(where());
      return native.apply(this, args);
    };
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        window.__startup.sockets.push({ path: new URL(this.url).pathname, ...where() });
        if (window.__closeFirstSocket === true) {
          window.__closeFirstSocket = false;
          this.close();
        }
      }
    };
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__startup.violations.push(event.violatedDirective + ' ' + event.blockedURI);
    });
  })();
`;

interface Startup {
  media: { inline: boolean; scriptFileTagsParsed: boolean }[];
  sockets: { path: string; inline: boolean; scriptFileTagsParsed: boolean }[];
  violations: string[];
}

/** A page that records its start; with `closeFirstSocket`, the first WebSocket it opens is closed at once. */
async function openRecorded(url: string, options: { closeFirstSocket?: boolean } = {}): Promise<Page> {
  const page = await context.newPage();
  if (options.closeFirstSocket === true) await page.addInitScript('window.__closeFirstSocket = true;');
  await page.addInitScript(RECORD_STARTUP);
  await page.goto(url);
  return page;
}

function startupOf(page: Page): Promise<Startup> {
  return page.evaluate(() => (window as unknown as { __startup: Startup }).__startup);
}

describe('the web app’s start', () => {
  it('asks for the camera once, from the inline script in the head, which its CSP allows by hash', async () => {
    const page = await openRecorded(`${parley.url}/?room=boot-once`);
    try {
      await waitForStatus(page, 'waiting');
      const startup = await startupOf(page);
      expect(startup.media).toEqual([{ inline: true, scriptFileTagsParsed: false }]);
      expect(startup.violations).toEqual([]);
      // The app took the early request over: the self-view shows its stream.
      expect(
        await page
          .getByTestId('local-video')
          .evaluate((video: HTMLVideoElement) => (video.srcObject as MediaStream | null)?.getVideoTracks().length),
      ).toBe(1);

      const response = await fetch(`${parley.url}/?room=boot-once`);
      const policy = response.headers.get('content-security-policy') ?? '';
      const html = await response.text();
      // First thing in the head but for the charset and the viewport (which the chat's layout reads).
      expect(html).toMatch(/<head>\s*<meta charset="utf-8" \/>\s*<meta name="viewport"[^>]*>\s*<script>/);
      // Exactly one inline script is allowed, by its hash; scripts from elsewhere still are not.
      expect(policy.match(/'sha256-[A-Za-z0-9+/=]+'/g)).toHaveLength(1);
      expect(policy).toContain("script-src 'self' 'sha256-");
      expect(policy).not.toContain('unsafe-inline');
      // The icon is a small PNG, which the page's main thread decodes in no time, not an SVG,
      // which it would lay out and draw as a document of its own while the call is set up.
      const icon = await page.evaluate(async () => {
        const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
        const image = new Image();
        image.src = link?.href ?? '';
        await image.decode();
        return {
          type: link?.type,
          size: [image.naturalWidth, image.naturalHeight],
          png: link?.href.startsWith('data:image/png;'),
        };
      });
      expect(icon).toEqual({ type: 'image/png', size: [32, 32], png: true });
      // The call page is fetched beside the first chunk, not after it has run.
      expect(html).toMatch(/<link rel="modulepreload" crossorigin href="\/assets\/call-page-[\w-]+\.js">/);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('shows the self-view as soon as the camera is on, from the first chunk, before the call page has loaded', async () => {
    const page = await context.newPage();
    // The call page's chunk never arrives: only the first chunk runs.
    await page.route(/\/assets\/call-page-[\w-]+\.js$/, (route) => route.abort());
    try {
      await page.goto(`${parley.url}/?room=boot-self-view`);
      await expect
        .poll(() => page.getByTestId('local-video').evaluate((video: HTMLVideoElement) => video.videoWidth), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      const shown = await page.getByTestId('local-video').evaluate((video: HTMLVideoElement) => ({
        tracks: (video.srcObject as MediaStream | null)
          ?.getTracks()
          .map((track) => track.kind)
          .sort(),
        playing: !video.paused,
      }));
      // The camera alone: a muted element given the microphone still runs an audio output for it.
      expect(shown).toEqual({ tracks: ['video'], playing: true });
      // Without the call page, the page says it could not start.
      await expect.poll(() => page.getByTestId('call-state').getAttribute('data-status')).toBe('error');
    } finally {
      await page.close();
    }
  }, 60_000);

  it("starts the app's script files with V8's compile hint, and their source maps a line down", async () => {
    const scriptsOf = async (page: string) => {
      const html = await readFile(join(app.dir, page), 'utf8');
      return [
        ...html.matchAll(
          /<(?:script\b[^>]*\btype="module"|link rel="modulepreload")[^>]*\b(?:src|href)="\/([^"]+\.js)"/g,
        ),
      ].map(([, src]) => src);
    };
    // What V8 reads (Chrome 136 and later), exactly, on the first line.
    const COMPILE_HINT = '//# allFunctionsCalledOnLoad';
    const hinted = async (src: string) => (await readFile(join(app.dir, src), 'utf8')).startsWith(`${COMPILE_HINT}\n`);
    const page = await scriptsOf('index.html');
    // The first chunk and the call page; the runtime they share holds no code of the app.
    const chunks = page.filter((src) => /^assets\/(app|call-page)-[\w-]+\.js$/.test(src));
    expect(chunks).toHaveLength(2);
    for (const src of page) expect({ src, hinted: await hinted(src) }).toEqual({ src, hinted: chunks.includes(src) });
    // The source maps still point at the right lines, one line down: where each chunk defines a
    // function of the app maps to where the source does.
    const mapsBack = async (chunk: string, source: string, name: string) => {
      const code = await readFile(join(app.dir, chunk), 'utf8');
      const map = new SourceMap(JSON.parse(await readFile(join(app.dir, `${chunk}.map`), 'utf8')));
      const before = code.slice(0, code.indexOf(`function ${name}(`));
      const lines = before.split('\n');
      const entry = map.findEntry(lines.length - 1, lines.at(-1)?.length ?? 0);
      const sourceLines = (await readFile(new URL(`../${source}`, import.meta.url), 'utf8')).split('\n');
      return {
        source: 'originalSource' in entry ? entry.originalSource.replace(/^.*?src\//, 'src/') : undefined,
        line: 'originalLine' in entry ? entry.originalLine : undefined,
        expected: sourceLines.findIndex((line) => line.startsWith(`export function ${name}(`)),
      };
    };
    for (const [pattern, source, name] of [
      [/^assets\/app-/, 'src/client/app/early-media.ts', 'takeEarlyMedia'],
      [/^assets\/call-page-/, 'src/client/app/call-page.ts', 'startCallPage'],
    ] as const) {
      const chunk = chunks.find((src) => pattern.test(src)) ?? '';
      const found = await mapsBack(chunk, source, name);
      expect(found.expected).toBeGreaterThan(0);
      expect(found).toEqual({ source, line: found.expected, expected: found.expected });
    }
    // The inspector's page is no part of a call.
    const inspector = await scriptsOf('inspector/index.html');
    expect(inspector.length).toBeGreaterThan(0);
    for (const src of inspector) expect({ src, hinted: await hinted(src) }).toEqual({ src, hinted: false });
  });

  it('asks for no camera when the link names no valid room', async () => {
    const page = await openRecorded(`${parley.url}/?room=not%20a%20room`);
    try {
      await expect.poll(() => noticeKinds(page)).toEqual(['bad-room']);
      const startup = await startupOf(page);
      expect(startup.media).toEqual([]);
      expect(startup.sockets).toEqual([]);
      expect(startup.violations).toEqual([]);
      expect(parley.signaling.rooms.size).toBe(0);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('still falls back to audio only when the early request for the camera is refused', async () => {
    const page = await context.newPage();
    // The camera is refused, the microphone allowed: the inline script's request fails.
    await page.addInitScript(`
      const native = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (constraints) {
        if (constraints?.video) return Promise.reject(new DOMException('denied', 'NotAllowedError'));
        return native.call(this, constraints);
      };
    `);
    await page.goto(`${parley.url}/?room=boot-denied`);
    try {
      await waitForStatus(page, 'waiting');
      await expect.poll(() => noticeKinds(page)).toEqual(['camera-denied']);
      expect(await page.locator('#call').getAttribute('data-media')).toBe('audio-only');
    } finally {
      await page.close();
    }
  }, 60_000);

  it('joins while the camera starts when no permission prompt can hold the camera up, and after it otherwise', async () => {
    // The camera takes 3 s to start in both pages.
    const SLOW_CAMERA = `
      const native = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (constraints) {
        return native.call(this, constraints).then((stream) => new Promise((resolve) => setTimeout(() => resolve(stream), 3000)));
      };
    `;
    // Chromium's fake media UI grants at once, so the prompt a first visit gets is played by the
    // Permissions API saying so.
    const PROMPTS = `
      Permissions.prototype.query = function () { return Promise.resolve({ state: 'prompt' }); };
    `;
    const peersIn = (room: string) => parley.signaling.rooms.view(room)?.peers.length ?? 0;
    const granted = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const asking = await browser.newContext();
    try {
      for (const [context, room, joinsEarly] of [
        [granted, 'boot-granted', true],
        [asking, 'boot-asking', false],
      ] as const) {
        const page = await context.newPage();
        await page.addInitScript(SLOW_CAMERA);
        if (!joinsEarly) await page.addInitScript(PROMPTS);
        const opened = Date.now();
        await page.goto(`${parley.url}/?room=${room}`);
        // The camera cannot be ready before `opened` + 3 s: a page that joins early is in the room
        // well before, the other not yet.
        const beforeCamera = opened + 2_500 - Date.now();
        if (joinsEarly) await expect.poll(() => peersIn(room), { timeout: beforeCamera }).toBe(1);
        else await new Promise((resolve) => setTimeout(resolve, beforeCamera));
        expect({ room, peers: peersIn(room), inTime: Date.now() < opened + 3_000 }).toEqual({
          room,
          peers: joinsEarly ? 1 : 0,
          inTime: true,
        });
        await waitForStatus(page, 'waiting');
        expect(peersIn(room)).toBe(1);
        await page.close();
      }
    } finally {
      await granted.close();
      await asking.close();
    }
  }, 60_000);

  it('lays the chat out before the first frame and animates nothing, so the call does not move or redraw while it starts', async () => {
    // Records every layout shift and whether the chat was laid out as open when the page was parsed.
    const RECORD_LAYOUT = `
      window.__layout = { shifts: [] };
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          window.__layout.shifts.push({
            value: entry.value,
            moved: entry.sources.map((source) => source.node?.className ?? source.node?.nodeName ?? '?'),
          });
        }
      }).observe({ type: 'layout-shift', buffered: true });
      document.addEventListener('DOMContentLoaded', () => {
        window.__layout.chatOpenWhenParsed = document.documentElement.classList.contains('chat-open');
        // The animation the call state's dot runs in each status the page goes through.
        window.__layout.animations = [];
        const state = document.querySelector('[data-testid="call-state"]');
        new MutationObserver(() => {
          window.__layout.animations.push(state.dataset.status + ':' + getComputedStyle(state, '::before').animationName);
        }).observe(state, { attributes: true, attributeFilter: ['data-status'] });
      });
    `;
    interface Layout {
      shifts: { value: number; moved: string[] }[];
      chatOpenWhenParsed: boolean;
      animations: string[];
    }
    const cases = [
      { name: 'wide', viewport: { width: 1280, height: 720 }, hidden: false, chatOpen: true },
      { name: 'wide-hidden', viewport: { width: 1280, height: 720 }, hidden: true, chatOpen: false },
      { name: 'phone', viewport: { width: 390, height: 844 }, hidden: false, chatOpen: false },
    ];
    for (const { name, viewport, hidden, chatOpen } of cases) {
      const sized = await browser.newContext({ viewport });
      try {
        if (hidden) await sized.addInitScript(`localStorage.setItem('parley.chat', 'hidden');`);
        await sized.addInitScript(RECORD_LAYOUT);
        const room = `boot-layout-${name}`;
        const first = await openApp(sized, `${parley.url}/?room=${room}`);
        await waitForStatus(first, 'waiting');
        const second = await openApp(sized, `${parley.url}/?room=${room}`);
        await waitForStatus(second, 'connected');
        await expectRemoteVideoFlowing(second);
        const layout = await second.evaluate(() => (window as unknown as { __layout: Layout }).__layout);
        const isOpen = await second.evaluate(() => document.documentElement.classList.contains('chat-open'));
        expect({ name, parsed: layout.chatOpenWhenParsed, now: isOpen }).toEqual({
          name,
          parsed: chatOpen,
          now: chatOpen,
        });
        // The call's parts stay where they are. (The room name's pill beside the call state's text
        // moves a little as that text changes: a shift of about 0.001.)
        const parts = ['stage', 'remote-video', 'local-video', 'controls', 'chat', 'notices', 'topbar'];
        const moved = layout.shifts.flatMap((shift) => shift.moved).filter((node) => parts.includes(node));
        expect({ name, moved }).toEqual({ name, moved: [] });
        expect(layout.shifts.reduce((sum, shift) => sum + shift.value, 0)).toBeLessThan(0.01);
        // Nothing is animated while the call is set up: an animation has the page drawn every frame.
        expect(layout.animations).toContain('connecting:none');
        expect(layout.animations.filter((entry) => !entry.endsWith(':none'))).toEqual([]);
      } finally {
        await sized.close();
      }
    }
  }, 90_000);

  it('writes to the page only what changes while a call is set up: no text, attribute or class written again with the value it had', async () => {
    // Every write to the page shows as a mutation record. An attribute's new value is the old value
    // of the next record for the same attribute, or its value once the batch is delivered; a text
    // written again shows as a text node replaced by one with the same text.
    const RECORD_WRITES = `
      window.__writes = { changed: [], unchanged: [] };
      const nameOf = (node) => node.dataset?.testid || node.id || node.className || node.nodeName;
      new MutationObserver((records) => {
        const entries = [];
        const latest = new Map(); // element → attribute name → its latest entry in this batch
        for (const record of records) {
          if (record.type === 'attributes') {
            const byName = latest.get(record.target) ?? new Map();
            latest.set(record.target, byName);
            const earlier = byName.get(record.attributeName);
            if (earlier !== undefined) earlier.next = record.oldValue;
            const entry = { record, next: undefined };
            byName.set(record.attributeName, entry);
            entries.push(entry);
          } else if (record.type === 'childList' && record.removedNodes.length === 1 && record.addedNodes.length === 1) {
            const [before] = record.removedNodes;
            const [after] = record.addedNodes;
            const what = nameOf(record.target) + ' text';
            if (before.nodeType === 3 && after.nodeType === 3)
              (before.data === after.data ? window.__writes.unchanged : window.__writes.changed).push(what + ' ' + after.data);
          } else if (record.type === 'characterData') {
            const what = nameOf(record.target.parentElement ?? record.target) + ' text';
            (record.oldValue === record.target.data ? window.__writes.unchanged : window.__writes.changed).push(what);
          }
        }
        for (const { record, next: later } of entries) {
          const next = later !== undefined ? later : record.target.getAttribute(record.attributeName);
          const what = nameOf(record.target) + ' ' + record.attributeName + '=' + next;
          (record.oldValue === next ? window.__writes.unchanged : window.__writes.changed).push(what);
        }
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeOldValue: true, characterData: true, characterDataOldValue: true });
    `;
    interface Writes {
      changed: string[];
      unchanged: string[];
    }
    const recorded = await browser.newContext();
    try {
      await recorded.addInitScript(RECORD_WRITES);
      const first = await openApp(recorded, `${parley.url}/?room=boot-writes`);
      await waitForStatus(first, 'waiting');
      const second = await openApp(recorded, `${parley.url}/?room=boot-writes`);
      await waitForStatus(second, 'connected');
      await waitForStatus(first, 'connected');
      await expectRemoteVideoFlowing(second);
      await expectRemoteVideoFlowing(first);
      for (const page of [first, second]) {
        const writes = await page.evaluate(() => (window as unknown as { __writes: Writes }).__writes);
        // The recorder sees the page's writes: the call's status went from waiting to connected.
        expect(writes.changed).toContain('call-state data-status=connected');
        expect(writes.unchanged).toEqual([]);
      }
    } finally {
      await recorded.close();
    }
  }, 60_000);

  it('opens its connection from the inline script, beside the script downloads, and joins over it', async () => {
    const page = await openRecorded(`${parley.url}/?room=boot-socket`);
    try {
      await waitForStatus(page, 'waiting');
      const startup = await startupOf(page);
      // One connection for the page: the inline script's, which socket.io-client took over.
      expect(startup.sockets).toEqual([{ path: '/socket.io/', inline: true, scriptFileTagsParsed: false }]);
      expect(startup.violations).toEqual([]);
      expect(parley.signaling.rooms.view('boot-socket')?.peers).toHaveLength(1);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('opens a connection of its own when the early one closed before the app could take it', async () => {
    const page = await openRecorded(`${parley.url}/?room=boot-socket-closed`, { closeFirstSocket: true });
    try {
      await waitForStatus(page, 'waiting');
      const startup = await startupOf(page);
      expect(startup.sockets).toEqual([
        { path: '/socket.io/', inline: true, scriptFileTagsParsed: false },
        { path: '/socket.io/', inline: false, scriptFileTagsParsed: true },
      ]);
      expect(parley.signaling.rooms.view('boot-socket-closed')?.peers).toHaveLength(1);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('calls between two tabs that both started this way', async () => {
    const first = await openApp(context, `${parley.url}/?room=boot-call`);
    const second = await openApp(context, `${parley.url}/?room=boot-call`);
    try {
      await waitForStatus(first, 'connected');
      await waitForStatus(second, 'connected');
      await expectRemoteVideoFlowing(first);
      await expectRemoteVideoFlowing(second);
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);
});
