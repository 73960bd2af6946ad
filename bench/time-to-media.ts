/**
 * Time to media: how long a call takes to show video, Parley's app on Parley's server against the
 * original "WebRTC working example" page on its own server (test/fixtures/original-example:
 * python-socketio on aiohttp). Measured in one headless Chromium with fake media, from the second
 * tab's navigation start until both tabs' remote videos fire `playing`; the two setups alternate,
 * run after run, and the report gives the medians and their ratio, and what each call cost in CPU
 * time over the same interval, by process kind (the browser's processes and the setup's server).
 *
 * The Python server needs Debian's python3-socketio and python3-aiohttp; run as root, the bench
 * installs them with apt-get when they are missing.
 *
 * It measures twice: on loopback, and over a distance (both servers behind bench/delay-proxy.ts,
 * BENCH_TTM_DISTANCE_MS [25] each way and two round trips of handshakes per new connection, as TCP
 * and TLS 1.3 cost; each tab in a browser context of its own, as two people's browsers are:
 * no cache or connection of one serves the other). BENCH_TTM_DISTANCE_MS=0 skips the second.
 *
 * Environment: BENCH_TTM_RUNS [21] runs of each; BENCH_TTM=0 skips it in `npm run bench`;
 * BENCH_TTM_TRACE=1 also prints when each step of the call happened in each setup (median over
 * the runs): scripts loaded, getUserMedia, signaling messages, descriptions, candidates, ICE,
 * first frame. Tracing wraps browser APIs in the pages, so its runs are a little slower.
 * Alone: `node --import tsx bench/time-to-media.ts` prints the section (and writes it into
 * BENCH_OUTPUT if set).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/browser.js';
import { ChildSet, freePort, sleep } from './child-processes.js';
import { startDelayProxy, type DelayProxy, type NetworkPath } from './delay-proxy.js';
import { sectionOf, withSection } from './doc-section.js';
import { readTreeThreadCpuNanos, type ThreadCpuNanos } from './proc-stats.js';
import { percentile } from './relay-frames.js';
import { seededRandom } from '../src/testing/seeded-random.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
/** Debian's Python, where apt-get puts python3-socketio (not a pyenv or venv python3 first on PATH). */
const PYTHON = '/usr/bin/python3';

/** Which page on which server. */
export type TimeToMediaSetup = 'original' | 'parley';

/** One run: milliseconds from the second tab's navigation start until both remote videos played. */
export interface TimeToMediaRun {
  readonly setup: TimeToMediaSetup;
  readonly millis: number;
  /** CPU milliseconds each kind of process spent over that time ({@link CPU_KINDS}). */
  readonly cpu?: CallCpu;
  /** The same CPU time by thread ({@link threadLabel}): where in the browser the call's cost went. */
  readonly threads?: Readonly<Record<string, number>>;
}

/** The processes whose CPU time a call is charged: the browser's, by kind, and the setup's server. */
export const CPU_KINDS = ['browser', 'renderer', 'gpu', 'utility', 'server'] as const;
export type CpuKind = (typeof CPU_KINDS)[number];
export type CallCpu = Readonly<Record<CpuKind, number>>;

/** The kind of a process the bench started, from its command line; `undefined` for the other setup's server. */
function cpuKindOf(setup: TimeToMediaSetup, commandLine: string): CpuKind | undefined {
  if (commandLine.includes('parley.js')) return setup === 'parley' ? 'server' : undefined;
  if (commandLine.includes('server.py')) return setup === 'original' ? 'server' : undefined;
  if (!commandLine.includes('chromium')) return undefined;
  const type = /--type=([\w-]+)/.exec(commandLine)?.[1];
  if (type === undefined) return 'browser';
  if (type === 'renderer') return 'renderer';
  if (type === 'gpu-process') return 'gpu';
  if (type === 'utility') return 'utility';
  return undefined; // the zygotes, idle
}

/** A CPU time reading of every thread of every process the call is charged ({@link cpuKindOf}). */
function readCallCpu(setup: TimeToMediaSetup): CpuReading {
  return readTreeThreadCpuNanos(process.pid, (commandLine) => cpuKindOf(setup, commandLine));
}

/** Every thread's CPU time so far, keyed by `PID:TID` ({@link readTreeThreadCpuNanos}). */
export type CpuReading = ReadonlyMap<string, ThreadCpuNanos<CpuKind>>;

/**
 * How the bench names a thread: by its process (the renderer of tab A, the one waiting in the
 * room, or of tab B, the one arriving) and its name without the number of a pool's worker. Each
 * process's main thread is named after the program (`chromium`, `node`, `python3`): here `main`.
 */
export function threadLabel(kind: CpuKind, thread: string, tab?: 'A' | 'B'): string {
  const name = /^(chromium|node|python3?)$/.test(thread) ? 'main' : thread.replace(/\d+$/, '');
  return `${kind === 'renderer' ? (tab === undefined ? 'other renderer' : `tab ${tab}`) : kind} ${name}`;
}

/** The renderers that capture audio (a thread of theirs reads an audio input device): the tabs' pages. */
function capturingRenderers(reading: CpuReading): Set<number> {
  const pids = new Set<number>();
  for (const { pid, kind, thread } of reading.values())
    if (kind === 'renderer' && thread.startsWith('AudioInputDevi')) pids.add(pid);
  return pids;
}

/**
 * CPU milliseconds between two readings, per kind and per thread ({@link threadLabel}); a thread
 * that started in between counts from zero. Both pages ask for the microphone as they load, so
 * tab A's renderer is the one that captured audio when the call began, and tab B's the one that
 * did by its end. Other renderers (the one a new tab starts in before its navigation, a spare)
 * are counted apart.
 */
export function cpuBetween(
  before: CpuReading,
  after: CpuReading,
): { readonly cpu: CallCpu; readonly threads: Record<string, number> } {
  const tabA = capturingRenderers(before);
  const tabB = capturingRenderers(after);
  const tabOf = (pid: number) => (tabA.has(pid) ? 'A' : tabB.has(pid) ? 'B' : undefined);
  const cpu: Record<CpuKind, number> = { browser: 0, renderer: 0, gpu: 0, utility: 0, server: 0 };
  const threads: Record<string, number> = {};
  for (const [key, { pid, kind, thread, nanos }] of after) {
    const millis = (nanos - (before.get(key)?.nanos ?? 0)) / 1e6;
    cpu[kind] += millis;
    const label = threadLabel(kind, thread, tabOf(pid));
    threads[label] = (threads[label] ?? 0) + millis;
  }
  return { cpu, threads };
}

/** Everything one measurement found. */
export interface TimeToMediaResult {
  readonly date: string;
  readonly runs: readonly TimeToMediaRun[];
  readonly chromium: string;
  /** Where the servers were, when not on loopback. */
  readonly path?: NetworkPath;
  /**
   * Calls that never played (no remote video within 30 s), per setup; each was made again. The
   * original example's page drops remote candidates that arrive before its remote description.
   */
  readonly failed?: Readonly<Partial<Record<TimeToMediaSetup, number>>>;
}

/** How many times one run's call is made before the measurement gives up. */
const ATTEMPTS_PER_RUN = 3;

export const TTM_BEGIN = '<!-- time-to-media:begin -->';
export const TTM_END = '<!-- time-to-media:end -->';

/** Runs per setup, from BENCH_TTM_RUNS. */
export function timeToMediaRunsFromEnv(): number {
  const raw = process.env['BENCH_TTM_RUNS'];
  const runs = raw === undefined || raw === '' ? 21 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_TTM_RUNS must be a positive integer, got ${raw}`);
  return runs;
}

/** The path of the second measurement, from BENCH_TTM_DISTANCE_MS; undefined when it is 0. */
export function timeToMediaPathFromEnv(): NetworkPath | undefined {
  const raw = process.env['BENCH_TTM_DISTANCE_MS'];
  const oneWayMs = raw === undefined || raw === '' ? 25 : Number(raw);
  if (!Number.isFinite(oneWayMs) || oneWayMs < 0) throw new Error(`BENCH_TTM_DISTANCE_MS must be >= 0, got ${raw}`);
  return oneWayMs === 0 ? undefined : { oneWayMs, handshakeRoundTrips: 2 };
}

/** Installs python3-socketio and python3-aiohttp with apt-get when python3 cannot import them. */
function requirePythonServer(): void {
  const importable = () => {
    try {
      execFileSync(PYTHON, ['-c', 'import socketio, aiohttp'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (importable()) return;
  if (process.getuid?.() !== 0) {
    throw new Error('the original example server needs: apt-get install python3-socketio python3-aiohttp');
  }
  console.log('bench: installing python3-socketio and python3-aiohttp with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'python3-socketio', 'python3-aiohttp'], { stdio: 'inherit', env });
  if (!importable()) throw new Error(`${PYTHON} still cannot import socketio and aiohttp`);
}

/** Starts a server process and waits for its /healthz. */
export async function startServer(
  children: ChildSet,
  command: string,
  args: string[],
  port: number,
): Promise<{ url: string; child: ChildProcess }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
  const child = children.track(spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${tail}`);
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.ok) return { url, child };
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${command} did not answer /healthz:\n${tail}`);
}

/**
 * Run in every page before its scripts: says on the console, once, the wall-clock time the remote
 * video first fires `playing` (the local preview is a muted video and is not counted). The bench
 * listens to the console rather than polling the page, so that nothing it runs in the page
 * (Playwright's injected script is compiled on a page's first `evaluate`, 15 to 70 ms of its main
 * thread here) lands in the middle of the call being timed.
 */
const RECORD_REMOTE_PLAYING = `
  document.addEventListener('playing', (event) => {
    const video = event.target;
    if (!(video instanceof HTMLVideoElement) || video.muted && video.id !== 'remoteStream') return;
    if (video.id !== 'remoteStream' && video.dataset.testid !== 'remote-video') return;
    if (window.__remotePlayingAt !== undefined) return;
    window.__remotePlayingAt = performance.timeOrigin + performance.now();
    console.debug('ttm:remote-playing ' + window.__remotePlayingAt);
  }, true);
`;

/**
 * With BENCH_TTM_TRACE=1, also recorded in every page: when each step of the call happened
 * (wall-clock milliseconds), found by wrapping the browser APIs both pages use (getUserMedia,
 * WebSocket, XMLHttpRequest, RTCPeerConnection) and by the page's resource timings. Signaling
 * messages are named by their Socket.IO event (`ws<` received, `ws>` sent; `xhr<` for polling).
 */
const RECORD_TRACE = `
  (() => {
    const trace = (window.__ttmTrace = []);
    const mark = (what) => trace.push([performance.timeOrigin + performance.now(), what]);
    const eventName = (text) => {
      if (typeof text !== 'string') return 'binary';
      const match = /^4?2\\d*\\["([^"]+)"(?:,\\{"type":"([a-z]+)")?/.exec(text);
      if (match) return match[2] ? match[1] + ':' + match[2] : match[1];
      return 'eio' + text.slice(0, 2);
    };
    if (window.MediaDevices) {
      const gum = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (...args) {
        mark('getUserMedia');
        return gum.apply(this, args).then((stream) => (mark('getUserMedia done'), stream));
      };
    }
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        mark('ws new');
        this.addEventListener('open', () => mark('ws open'));
        this.addEventListener('message', (event) => mark('ws< ' + eventName(event.data)));
      }
      send(data) {
        mark('ws> ' + eventName(data));
        return super.send(data);
      }
    };
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      mark('xhr ' + method);
      this.addEventListener('load', () => {
        for (const part of String(this.responseText).split('\\x1e')) mark('xhr< ' + eventName(part));
      });
      return open.call(this, method, url, ...rest);
    };
    const NativePC = window.RTCPeerConnection;
    const wrap = (name) => {
      const native = NativePC.prototype[name];
      NativePC.prototype[name] = function (...args) {
        const label = name === 'setLocalDescription' || name === 'setRemoteDescription'
          ? name + (args[0]?.type ? ' ' + args[0].type : '')
          : name;
        mark(label);
        const result = native.apply(this, args);
        return result instanceof Promise ? result.then((value) => (mark(label + ' done'), value)) : result;
      };
    };
    for (const name of ['createOffer', 'createAnswer', 'setLocalDescription', 'setRemoteDescription', 'addIceCandidate']) wrap(name);
    window.RTCPeerConnection = class extends NativePC {
      constructor(...args) {
        super(...args);
        mark('pc new');
        this.addEventListener('icecandidate', (event) => mark(event.candidate ? 'local candidate' : 'local candidates end'));
        this.addEventListener('iceconnectionstatechange', () => mark('ice ' + this.iceConnectionState));
        this.addEventListener('connectionstatechange', () => mark('pc ' + this.connectionState));
        this.addEventListener('track', (event) => mark('track ' + event.track.kind));
      }
    };
    for (const type of ['loadedmetadata', 'loadeddata', 'playing']) {
      document.addEventListener(type, (event) => {
        const video = event.target;
        if (video instanceof HTMLVideoElement) mark((video.muted && video.id !== 'remoteStream' ? 'local ' : 'remote ') + type);
      }, true);
    }
    document.addEventListener('DOMContentLoaded', () => mark('DOMContentLoaded'));
  })();
`;

/** One page's trace: [wall-clock ms, step] in the order they happened. */
export type Trace = readonly (readonly [number, string])[];

async function traceOf(page: Page): Promise<Trace> {
  return page.evaluate(() => {
    const steps = [...((window as { __ttmTrace?: [number, string][] }).__ttmTrace ?? [])];
    // No helper functions in here: tsx names them with a `__name` call the page does not have.
    const origin = performance.timeOrigin;
    const [page] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
    if (page !== undefined) {
      steps.push([origin + page.responseStart, 'page response'], [origin + page.responseEnd, 'page loaded']);
      steps.push([origin + page.domInteractive, 'page parsed']);
    }
    for (const entry of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
      const name = (new URL(entry.name).pathname.split('/').pop() ?? entry.name).replace(/-[\w-]{8}\./, '.');
      if (entry.initiatorType !== 'script' && entry.initiatorType !== 'link' && entry.initiatorType !== 'other')
        continue;
      steps.push([origin + entry.startTime, `fetch ${name}`], [origin + entry.responseEnd, `loaded ${name}`]);
    }
    return steps.sort((a, b) => a[0] - b[0]);
  });
}

/** The wall-clock time `page`'s remote video started playing, as RECORD_REMOTE_PLAYING reports it. */
function remotePlayingAt(page: Page): Promise<number> {
  const played = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no remote video played in ${page.url()}`)), 30_000);
    page.on('console', (message) => {
      const match = /^ttm:remote-playing ([\d.]+)$/.exec(message.text());
      if (match === null) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
  });
  // Awaited later, once the second tab is open; a timeout before then is reported there.
  played.catch(() => {});
  return played;
}

/** One call's time to media, and with tracing each tab's steps, in ms from the second tab's navigation start. */
export interface MeasuredCall {
  readonly millis: number;
  readonly cpu: CallCpu;
  readonly threads: Readonly<Record<string, number>>;
  readonly traces?: { readonly first: Trace; readonly second: Trace };
}

let calls = 0;

/**
 * `url` with a room of its own for each of Parley's calls. A tab that goes away without a word
 * keeps its seat for the recovery window (2 minutes by default), so a call in a room that an
 * earlier call left that way would find it full. The original example has one room only.
 */
function callUrl(setup: TimeToMediaSetup, url: string): string {
  if (setup !== 'parley') return url;
  const fresh = new URL(url);
  calls += 1;
  fresh.searchParams.set('room', `ttm-${calls}`);
  return fresh.href;
}

/**
 * One call: the first tab joins and waits, then the second tab is opened and timed. Both tabs are
 * in one browser context, or with `twoUsers` each in its own (nothing cached or connected by the
 * first serves the second).
 */
export async function measureOnce(
  browser: Browser,
  setup: TimeToMediaSetup,
  roomUrl: string,
  trace: boolean,
  twoUsers = false,
): Promise<MeasuredCall> {
  const url = callUrl(setup, roomUrl);
  const contexts: BrowserContext[] = [await browser.newContext()];
  if (twoUsers) contexts.push(await browser.newContext());
  try {
    for (const context of contexts) {
      await context.addInitScript(RECORD_REMOTE_PLAYING);
      if (trace) await context.addInitScript(RECORD_TRACE);
      if (trace) context.on('weberror', (error) => console.error(`page error: ${error.error().message}`));
    }
    const first = await contexts[0].newPage();
    const firstPlayed = remotePlayingAt(first);
    await first.goto(url);
    // The first tab is in the room: Parley's app says so, the example's socket is connected.
    await first.waitForFunction(
      setup === 'parley'
        ? () => document.querySelector('[data-testid="call-state"]')?.getAttribute('data-status') === 'waiting'
        : // The example's `socket` is a top-level `let` of a classic script: a global, not a window property.
          'typeof socket !== "undefined" && socket.connected',
      undefined,
      { timeout: 15_000, polling: 20 },
    );
    await sleep(300);
    const second = await contexts.at(-1)!.newPage();
    const secondPlayed = remotePlayingAt(second);
    const cpuBefore = readCallCpu(setup);
    await second.goto(url);
    const played = Math.max(await firstPlayed, await secondPlayed);
    const { cpu, threads } = cpuBetween(cpuBefore, readCallCpu(setup));
    const navigationStart = await second.evaluate(() => performance.timeOrigin);
    if (!trace) return { millis: played - navigationStart, cpu, threads };
    // A moment for the steps that follow `playing` (the last candidates, `connected`).
    await sleep(200);
    const relative = async (page: Page): Promise<Trace> =>
      (await traceOf(page)).map(([at, step]) => [at - navigationStart, step] as const);
    return {
      millis: played - navigationStart,
      cpu,
      threads,
      traces: { first: await relative(first), second: await relative(second) },
    };
  } finally {
    for (const context of contexts) await context.close();
    // Both peers leave the room before the next run.
    await sleep(500);
  }
}

/**
 * The median time of each step over the traced calls of one setup, in the order they happen
 * (a step that happens more than once in a call, like `local candidate`, is counted by its first
 * time and how many times it happened).
 */
export function traceSummary(traces: readonly { readonly first: Trace; readonly second: Trace }[]): string {
  const rows = new Map<string, { at: number[]; count: number[] }>();
  for (const call of traces) {
    for (const tab of ['first', 'second'] as const) {
      const seen = new Map<string, { at: number; count: number }>();
      for (const [at, step] of call[tab]) {
        const previous = seen.get(step);
        if (previous === undefined) seen.set(step, { at, count: 1 });
        else previous.count++;
      }
      for (const [step, { at, count }] of seen) {
        const key = `${tab === 'first' ? 'A' : 'B'} ${step}`;
        const row = rows.get(key) ?? { at: [], count: [] };
        row.at.push(at);
        row.count.push(count);
        rows.set(key, row);
      }
    }
  }
  return [...rows]
    .map(([key, row]) => ({ key, at: median(row.at), count: median(row.count), calls: row.at.length }))
    .sort((a, b) => a.at - b.at)
    .map(
      ({ key, at, count, calls }) =>
        `${at.toFixed(0).padStart(6)} ms  ${key}${count > 1 ? ` ×${count}` : ''}${calls < traces.length ? ` (in ${calls} of ${traces.length})` : ''}`,
    )
    .join('\n');
}

/** Measures both setups, interleaved (the order alternates each run). */
export async function measureTimeToMedia(
  children: ChildSet,
  runsPerSetup: number,
  tracing = process.env['BENCH_TTM_TRACE'] === '1',
  path?: NetworkPath,
): Promise<TimeToMediaResult> {
  requirePythonServer();
  const proxies: DelayProxy[] = [];
  const parent = await mkdtemp(join(tmpdir(), 'parley-ttm-'));
  const webDir = join(parent, 'web');
  let browser: Browser | undefined;
  try {
    await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'node_modules/vite/bin/vite.js'),
        'build',
        '--outDir',
        webDir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: repoRoot },
    );
    if (!existsSync(`${repoRoot}dist/signaling/cli.js`))
      throw new Error('dist/signaling/cli.js is missing (npm run build?)');
    const parleyPort = await freePort();
    const parley = await startServer(
      children,
      process.execPath,
      ['bin/parley.js', 'serve', '--host', '127.0.0.1', '--port', String(parleyPort), '--static', webDir],
      parleyPort,
    );
    const originalPort = await freePort();
    const original = await startServer(
      children,
      PYTHON,
      [
        'test/fixtures/original-example/server.py',
        '--port',
        String(originalPort),
        '--socket-io-js',
        require.resolve('socket.io-client/dist/socket.io.js'),
      ],
      originalPort,
    );
    // Over a distance, each server is reached through a proxy that delays what crosses it.
    const reach = async (url: string) => {
      if (path === undefined) return url;
      const proxy = await startDelayProxy(Number(new URL(url).port), path);
      proxies.push(proxy);
      return `http://127.0.0.1:${proxy.port}`;
    };
    const urls: Record<TimeToMediaSetup, string> = {
      parley: `${await reach(parley.url)}/?room=ttm`,
      original: `${await reach(original.url)}/`,
    };
    const twoUsers = path !== undefined;
    browser = await launchChromium();
    // One warm-up call each (the first call in a fresh browser pays for its start-up).
    for (const setup of ['parley', 'original'] as const)
      await measureOnce(browser, setup, urls[setup], false, twoUsers);
    const runs: TimeToMediaRun[] = [];
    const failed: Partial<Record<TimeToMediaSetup, number>> = {};
    const measure = async (setup: TimeToMediaSetup): Promise<MeasuredCall> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await measureOnce(browser!, setup, urls[setup], tracing, twoUsers);
        } catch (error) {
          failed[setup] = (failed[setup] ?? 0) + 1;
          console.error(`time to media, ${setup}: ${error instanceof Error ? error.message : String(error)}`);
          if (attempt === ATTEMPTS_PER_RUN) throw error;
        }
      }
    };
    const traces: Record<TimeToMediaSetup, NonNullable<MeasuredCall['traces']>[]> = { original: [], parley: [] };
    for (let run = 0; run < runsPerSetup; run++) {
      const order: TimeToMediaSetup[] = run % 2 === 0 ? ['original', 'parley'] : ['parley', 'original'];
      for (const setup of order) {
        const { millis, cpu, threads, traces: trace } = await measure(setup);
        runs.push({ setup, millis, cpu, threads });
        if (trace !== undefined) traces[setup].push(trace);
        const where = path === undefined ? '' : ` (${path.oneWayMs} ms away)`;
        console.log(
          `time to media${where}, run ${run + 1} ${setup}: ${millis.toFixed(0)} ms, CPU ${cpuTotal(cpu).toFixed(0)} ms`,
        );
      }
    }
    if (tracing) {
      for (const setup of ['original', 'parley'] as const) {
        console.log(`\nsteps of ${setup} (median ms from tab B's navigation start; A waited in the room):`);
        console.log(traceSummary(traces[setup]));
      }
    }
    return {
      date: new Date().toISOString(),
      runs,
      chromium: browser.version(),
      ...(path === undefined ? {} : { path }),
      ...(Object.keys(failed).length === 0 ? {} : { failed }),
    };
  } finally {
    await browser?.close();
    for (const proxy of proxies) await proxy.close();
    children.killAll();
    await rm(parent, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The times of the runs of `setup`, in ms, in the order they ran. */
function millisOf(result: TimeToMediaResult, setup: TimeToMediaSetup): number[] {
  return result.runs.filter((r) => r.setup === setup).map((r) => r.millis);
}

/**
 * The medians of each setup, Parley's ÷ the original's, and the median of the per-run ratios (the
 * n-th Parley call ÷ the n-th original call, measured back to back), which a load that drifts
 * across the whole measurement moves less.
 */
export function timeToMediaMedians(result: TimeToMediaResult): {
  original: number;
  parley: number;
  ratio: number;
  pairedRatio: number;
} {
  const originals = millisOf(result, 'original');
  const parleys = millisOf(result, 'parley');
  const original = median(originals);
  const parley = median(parleys);
  const pairs = parleys.slice(0, originals.length).map((millis, run) => millis / (originals[run] ?? millis));
  return { original, parley, ratio: parley / original, pairedRatio: median(pairs) };
}

/**
 * A 95% interval for Parley ÷ original (the ratio of the two medians): a percentile bootstrap that
 * resamples each setup's runs with replacement, `resamples` times, from a fixed seed, so that one
 * result always renders the same. On a noisy machine it says how far from the point ratio the
 * truth may be.
 */
export function timeToMediaRatioInterval(result: TimeToMediaResult, resamples = 2000): readonly [number, number] {
  const originals = millisOf(result, 'original');
  const parleys = millisOf(result, 'parley');
  const random = seededRandom(0x5eed);
  const resample = (values: readonly number[]) => values.map(() => values[Math.floor(random() * values.length)]);
  const ratios = Array.from({ length: resamples }, () => median(resample(parleys)) / median(resample(originals)));
  ratios.sort((a, b) => a - b);
  return [percentile(ratios, 0.025), percentile(ratios, 0.975)];
}

/** All the CPU milliseconds of one call. */
export function cpuTotal(cpu: CallCpu): number {
  return CPU_KINDS.reduce((sum, kind) => sum + cpu[kind], 0);
}

/** The median CPU milliseconds of each kind, and of the total, over the runs of `setup` that have them. */
export function medianCallCpu(
  result: TimeToMediaResult,
  setup: TimeToMediaSetup,
): (Record<CpuKind, number> & { total: number }) | undefined {
  const cpus = result.runs.filter((r) => r.setup === setup && r.cpu !== undefined).map((r) => r.cpu!);
  if (cpus.length === 0) return undefined;
  const medians = Object.fromEntries(CPU_KINDS.map((kind) => [kind, median(cpus.map((cpu) => cpu[kind]))]));
  return { ...(medians as Record<CpuKind, number>), total: median(cpus.map(cpuTotal)) };
}

/** The CPU table of the section: what each setup's call cost the machine, by process kind. */
function renderCpuTable(result: TimeToMediaResult): string[] {
  const original = medianCallCpu(result, 'original');
  const parley = medianCallCpu(result, 'parley');
  if (original === undefined || parley === undefined) return [];
  const row = (name: string, cpu: Record<CpuKind, number> & { total: number }) =>
    `| ${name} | ${CPU_KINDS.map((kind) => cpu[kind].toFixed(0)).join(' | ')} | ${cpu.total.toFixed(0)} |`;
  return [
    '',
    'CPU time the call cost, over the same interval (median ms; all threads of the browser’s processes',
    'by kind, and of the setup’s server, from /proc/PID/task/TID/schedstat):',
    '',
    `| Setup | ${CPU_KINDS.join(' | ')} | total |`,
    `| --- | ${CPU_KINDS.map(() => '---:').join(' | ')} | ---: |`,
    row('Original', original),
    row('Parley', parley),
    '',
    `Parley ÷ original, CPU: **${(parley.total / original.total).toFixed(2)}**, on a machine with ${availableParallelism()} cores.`,
  ];
}

/** Threads below this median in both setups stay out of the thread table. */
const THREAD_TABLE_MIN_MS = 3;

/**
 * The medians of each thread's CPU time in each setup (a run where a thread did not run counts
 * 0), for the threads where either setup's median reached `minMillis`, the largest difference
 * (Parley's more than the original's) first.
 */
export function medianThreadCpu(
  result: TimeToMediaResult,
  minMillis = THREAD_TABLE_MIN_MS,
): { readonly thread: string; readonly original: number; readonly parley: number }[] {
  const runsOf = (setup: TimeToMediaSetup) =>
    result.runs.filter((r) => r.setup === setup && r.threads !== undefined).map((r) => r.threads!);
  const originals = runsOf('original');
  const parleys = runsOf('parley');
  if (originals.length === 0 || parleys.length === 0) return [];
  const labels = new Set([...originals, ...parleys].flatMap((threads) => Object.keys(threads)));
  const medianOf = (runs: readonly Readonly<Record<string, number>>[], label: string) =>
    median(runs.map((threads) => threads[label] ?? 0));
  return [...labels]
    .map((thread) => ({ thread, original: medianOf(originals, thread), parley: medianOf(parleys, thread) }))
    .filter((row) => Math.max(row.original, row.parley) >= minMillis)
    .sort((a, b) => b.parley - b.original - (a.parley - a.original) || a.thread.localeCompare(b.thread));
}

/** The thread table of the section: where in the browser the difference in CPU is. */
function renderThreadTable(result: TimeToMediaResult): string[] {
  const rows = medianThreadCpu(result);
  if (rows.length === 0) return [];
  return [
    '',
    `The same CPU time by thread (median ms; the threads where either setup spent ${THREAD_TABLE_MIN_MS} ms or more;`,
    'tab A waited in the room, tab B is the one arriving; a pool’s workers together):',
    '',
    '| Thread | Original | Parley | Parley − original |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      ({ thread, original, parley }) =>
        `| ${thread} | ${original.toFixed(1)} | ${parley.toFixed(1)} | ${(parley - original).toFixed(1)} |`,
    ),
  ];
}

/** The runs of `setup`, in ms, for a table cell. */
function runList(result: TimeToMediaResult, setup: TimeToMediaSetup): string {
  return millisOf(result, setup)
    .map((millis) => millis.toFixed(0))
    .join(', ');
}

/** The lines of the table and ratio of one measurement. */
function renderMedians(result: TimeToMediaResult): string[] {
  const { original, parley, ratio, pairedRatio } = timeToMediaMedians(result);
  const [low, high] = timeToMediaRatioInterval(result);
  return [
    '| Setup | Median ms | Runs (ms) |',
    '| --- | --- | --- |',
    `| Original page on python-socketio | ${original.toFixed(0)} | ${runList(result, 'original')} |`,
    `| Parley app on Parley | ${parley.toFixed(0)} | ${runList(result, 'parley')} |`,
    '',
    `Parley ÷ original: **${ratio.toFixed(2)}** (95% interval ${low.toFixed(2)}–${high.toFixed(2)}, resampling the runs;`,
    `median of the per-run ratios, each Parley call ÷ the original call measured next to it: ${pairedRatio.toFixed(2)}).`,
    ...renderFailed(result),
  ];
}

/** A line on the calls that never played, if there were any. */
function renderFailed(result: TimeToMediaResult): string[] {
  const { failed } = result;
  if (failed === undefined) return [];
  const count = (setup: TimeToMediaSetup) => failed[setup] ?? 0;
  return [
    '',
    `Calls that never played (no remote video within 30 s; each made again, not in the runs above): original ${count('original')}, Parley ${count('parley')}.`,
  ];
}

/** The subsection of the measurement over a distance. */
function renderDistantSection(result: TimeToMediaResult & { readonly path: NetworkPath }): string[] {
  const { oneWayMs, handshakeRoundTrips } = result.path;
  return [
    '',
    `### Over a distance: ${2 * oneWayMs} ms round trip to the server`,
    '',
    `The same measurement, with each server behind a proxy (bench/delay-proxy.ts) that delays every chunk`,
    `${oneWayMs} ms each way, and the first of each new connection ${handshakeRoundTrips} round trips more, as the`,
    'handshakes of TCP and TLS 1.3 would; each tab in a browser context of its own, as two people’s',
    'browsers are, so that nothing the first tab cached or connected serves the second. The media',
    'stays on loopback.',
    '',
    ...renderMedians(result),
  ];
}

/** The markdown section for docs/performance.md; `distant`, if given, is the measurement over a distance. */
export function renderTimeToMediaSection(result: TimeToMediaResult, distant?: TimeToMediaResult): string {
  return [
    TTM_BEGIN,
    '## Time to media',
    '',
    `Generated by \`bench/time-to-media.ts\` (run by \`npm run bench\`) on ${result.date}, Chromium ${result.chromium}.`,
    '',
    '- From the second tab’s navigation start until both tabs’ remote videos fire `playing`; the first',
    '  tab is already in the room. Two tabs of one headless Chromium with fake camera and microphone,',
    '  on loopback; each call in a fresh browser context, the two setups alternating run after run,',
    '  after one warm-up call each. Each page reports `playing` on its console; the bench runs',
    '  nothing in the pages while a call is timed.',
    '- **Original**: the original example’s page (test/fixtures/original-example, unchanged but for its',
    '  signaling URL) on its server, python-socketio 5 on aiohttp (`server.py` there;',
    '  `apt-get install python3-socketio python3-aiohttp`).',
    '- **Parley**: the web app built by Vite, served by `parley serve` with its defaults; each call in',
    '  a room of its own (the example has one room only).',
    '',
    ...renderMedians(result),
    ...renderCpuTable(result),
    ...renderThreadTable(result),
    ...(distant?.path === undefined ? [] : renderDistantSection({ ...distant, path: distant.path })),
    TTM_END,
  ].join('\n');
}

/** The time-to-media section of an existing document, if it has one. */
export function timeToMediaSectionOf(document: string): string | undefined {
  return sectionOf(document, { begin: TTM_BEGIN, end: TTM_END });
}

/** `document` with its time-to-media section replaced by `section`, or `section` added before the notes. */
export function withTimeToMediaSection(document: string, section: string, notesMarker: string): string {
  return withSection(document, section, { begin: TTM_BEGIN, end: TTM_END }, notesMarker);
}

// Run alone: measure, print, and write into BENCH_OUTPUT if set.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const children = new ChildSet();
  const deadline = setTimeout(() => {
    console.error('bench/time-to-media.ts: gave up after 20 minutes');
    children.killAll();
    process.exit(2);
  }, 20 * 60_000);
  deadline.unref();
  try {
    const result = await measureTimeToMedia(children, timeToMediaRunsFromEnv());
    const path = timeToMediaPathFromEnv();
    const distant =
      path === undefined ? undefined : await measureTimeToMedia(children, timeToMediaRunsFromEnv(), false, path);
    const section = renderTimeToMediaSection(result, distant);
    console.log(`\n${section}\n`);
    const output = process.env['BENCH_OUTPUT'];
    if (output !== undefined && output !== '') {
      const { NOTES_MARKER } = await import('./report.js');
      const previous = existsSync(output) ? readFileSync(output, 'utf8') : '';
      writeFileSync(output, withTimeToMediaSection(previous, section, NOTES_MARKER));
      console.log(`wrote ${output}`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    children.killAll();
  }
}
