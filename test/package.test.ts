/**
 * Parley as a package: `npm pack` makes a tarball that installs into an empty project with its
 * runtime dependencies only, and every entry point works there. The package is built into a
 * staging copy (package.json, README, CHANGELOG, bin and a fresh dist/) rather than into the
 * repository's dist/, which other test files may be reading; `npm pack` then applies the real
 * `files` list. Everything lives in a temporary directory; npm's own cache is the only thing
 * that outlives the test.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { nodeBinary } from './helpers/node-binaries.js';
import { startTestServer } from './helpers/parley.js';
import packageJson from '../package.json' with { type: 'json' };

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const INSTALL_TIMEOUT = 300_000;

let work: string;
let project: string;
let packedFiles: string[];

/** Runs a command; on failure the error carries its stdout and stderr. */
async function sh(command: string, args: readonly string[], cwd: string, timeout = 120_000): Promise<string> {
  const { stdout } = await run(command, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Runs an ES module snippet with the project's node_modules, as a user of the package would. */
async function node(code: string, binary = process.execPath): Promise<string> {
  return (await sh(binary, ['--input-type=module', '-e', code], project)).trim();
}

/** The names of every package installed in `modules`, nested ones included. */
function installedPackages(modules: string): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const scoped = entry.startsWith('@');
      for (const name of scoped ? readdirSync(join(dir, entry)).map((n) => `${entry}/${n}`) : [entry]) {
        names.add(name);
        walk(join(dir, name, 'node_modules'));
      }
    }
  };
  walk(modules);
  return names;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'parley-package-'));
  const stage = join(work, 'stage');
  mkdirSync(stage);
  for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'bin']) {
    cpSync(join(root, file), join(stage, file), { recursive: true });
  }
  await sh(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')],
    root,
  );
  await sh(
    process.execPath,
    [
      join(root, 'node_modules/vite/bin/vite.js'),
      'build',
      '--outDir',
      join(stage, 'dist/web'),
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    root,
  );
  // The staging copy is already built: skip prepack, which would build into the repository.
  const packed = JSON.parse(
    await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage),
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  packedFiles = packed[0].files.map((file) => file.path);
  const tarball = join(work, packed[0].filename);

  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel', 'error', tarball], project, INSTALL_TIMEOUT);
}, INSTALL_TIMEOUT + 120_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('packs the built code, its types and the web app, without sources, tests or source maps', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'CHANGELOG.md',
        'bin/parley.js',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/machines/index.d.ts',
        'dist/signaling/index.d.ts',
        'dist/signaling/cli.js',
        'dist/react/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
        'dist/web/index.html',
        'dist/web/inspector/index.html',
      ]),
    );
    expect(packedFiles.filter((path) => /^(src|test|bench|docs)\/|\.map$/.test(path))).toEqual([]);
  });

  it('installs with its runtime dependencies only: no test, build or lint tools, and no react', () => {
    const installed = installedPackages(join(project, 'node_modules'));
    for (const runtime of ['parley', 'xstate', 'socket.io-client', 'uWebSockets.js', 'pino']) {
      expect(installed).toContain(runtime);
    }
    const devOnly = Object.keys(packageJson.devDependencies).filter((name) => installed.has(name));
    expect(devOnly).toEqual([]);
  });

  it('prints its version with npx parley --version', async () => {
    const printed = await sh('npx', ['--no-install', 'parley', '--version'], project);
    expect(printed.trim()).toBe(`parley ${packageJson.version}`);
  });

  it('loads parley/machines in plain Node without uWebSockets.js, socket.io-client or a DOM', async () => {
    // A resolve hook refuses the server's and the browser's modules; the require cache would
    // hold the uWebSockets.js binary had anything loaded it another way.
    const hook = `export async function resolve(specifier, context, next) {
      if (/uwebsockets|socket\\.io|^react|\\/signaling\\/|\\/client\\//i.test(specifier)) throw new Error('loaded ' + specifier);
      return next(specifier, context);
    }`;
    const loaded = uwsLoadedAfter(`
      const { register } = await import('node:module');
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const machines = await import('parley/machines');
      if (typeof machines.peerMachine.transition !== 'function') throw new Error('no peer machine');
    `);
    expect(await node(loaded)).toBe('uws loaded: false');
    // The check can fail: the server entry does load uWebSockets.js.
    expect(await node(uwsLoadedAfter(`await import('parley/server');`))).toBe('uws loaded: true');
  });

  it('loads parley/testing in plain Node and generates model paths without a DOM or uWebSockets.js', async () => {
    const loaded = uwsLoadedAfter(`
      const testing = await import('parley/testing');
      const paths = testing.peerModelPaths({ events: ['user.join', 'user.hangUp', 'remote.join', 'remote.leave'] });
      if (paths.length === 0) throw new Error('no paths');
      if (typeof testing.runPeerModelPath !== 'function') throw new Error('no runner');
    `);
    expect(await node(loaded)).toBe('uws loaded: false');
  });

  it('has the fake peer connection, fake media and a simulated clock in parley/testing, working in Node without a DOM', async () => {
    // The same resolve hook: the fakes load neither the client nor the server, nor a browser's modules.
    const hook = `export async function resolve(specifier, context, next) {
      if (/uwebsockets|socket\\.io|^react|\\/signaling\\/|\\/client\\//i.test(specifier)) throw new Error('loaded ' + specifier);
      return next(specifier, context);
    }`;
    const output = await node(`
      const { register } = await import('node:module');
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const dom = ['window', 'document', 'RTCPeerConnection', 'MediaStream', 'MediaStreamTrack'].filter((name) => name in globalThis);
      const { createFakeRtc, fakeMediaDevices, SimulatedClock } = await import('parley/testing');
      const rtc = createFakeRtc();
      const pc = new rtc.RTCPeerConnection({ iceServers: [] });
      const channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
      const candidates = [];
      pc.onicecandidate = ({ candidate }) => candidates.push(candidate === null ? null : candidate.toJSON().candidate);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await pc.setRemoteDescription({ type: 'answer', sdp: 'answer from the other side' });
      for (let i = 0; i < 100 && (pc.connectionState !== 'connected' || candidates.length < 3); i += 1) await new Promise((r) => setTimeout(r, 0));
      const media = fakeMediaDevices();
      const stream = await media.mediaDevices.getUserMedia({ audio: true, video: true });
      const clock = new SimulatedClock();
      let fired = false;
      clock.setTimeout(() => (fired = true), 1000);
      clock.increment(1000);
      console.log(JSON.stringify({
        dom,
        made: rtc.connections.length,
        signalingState: pc.signalingState,
        connectionState: pc.connectionState,
        channel: channel.readyState,
        candidates: candidates.length,
        violations: rtc.violations,
        tracks: stream.getTracks().map((track) => track.kind),
        fired,
      }));
    `);
    expect(JSON.parse(output)).toEqual({
      dom: [],
      made: 1,
      signalingState: 'stable',
      connectionState: 'connected',
      channel: 'open',
      candidates: 3,
      violations: [],
      tracks: ['audio', 'video'],
      fired: true,
    });
  });

  it('starts and stops a server from parley/server on port 0, serving the packaged web app', async () => {
    const output = await node(`
      import { startParleyServer, webAppDir } from 'parley/server';
      const server = await startParleyServer({
        host: '127.0.0.1', port: 0, allowedOrigins: [], staticDir: webAppDir,
        turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3600, stunUrls: [] },
      });
      const health = await (await fetch(server.url + '/healthz')).json();
      const page = await fetch(server.url + '/');
      console.log(JSON.stringify({ port: server.port, status: health.status, page: page.status, html: (await page.text()).includes('<html') }));
      await server.drain(0);
    `);
    const result = JSON.parse(output) as { port: number; status: string; page: number; html: boolean };
    expect(result.port).toBeGreaterThan(0);
    expect(result).toMatchObject({ status: 'ok', page: 200, html: true });
  });

  it(
    'type-checks a program importing all five entry points, and runs parley/client and parley/react',
    async () => {
      await sh(
        'npm',
        ['install', '--no-audit', '--no-fund', '--loglevel', 'error', 'react@19', '@types/react@19', '@types/node@20'],
        project,
        INSTALL_TIMEOUT,
      );
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2023', 'DOM'],
            types: ['node'],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: ['check.ts'],
        }),
      );
      writeFileSync(
        join(project, 'check.ts'),
        `import { createPeerAdapter, connectSignaling, type CallSnapshot, type PeerAdapter } from 'parley/client';
import { callStatus, peerMachine, type CallStatusName } from 'parley/machines';
import { startParleyServer, type RunningParleyServer } from 'parley/server';
import { useParleyCall, useParleyCallFactory } from 'parley/react';
import { createFakeRtc, fakeMediaDevices, SimulatedClock, type PeerModelDriver } from 'parley/testing';

export function render(call: PeerAdapter): CallStatusName {
  const snapshot: CallSnapshot = useParleyCall(call);
  const factory: PeerAdapter | undefined = useParleyCallFactory(() =>
    createPeerAdapter({ room: 'kitchen', connectSocket: connectSignaling('https://parley.example.com') }),
  );
  void factory;
  return snapshot.callError?.code === 'ice-failed' ? 'failed' : snapshot.status;
}
export const started: Promise<RunningParleyServer> = startParleyServer({
  host: '127.0.0.1',
  port: 0,
  allowedOrigins: [],
  staticDir: undefined,
  turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3600, stunUrls: [] },
});
export const summarise: typeof callStatus = callStatus;
export const machineId: string = peerMachine.id;
const rtc = createFakeRtc();
export const offline: PeerAdapter = createPeerAdapter({
  room: 'kitchen',
  connectSocket: connectSignaling('http://127.0.0.1:9'),
  RTCPeerConnection: rtc.RTCPeerConnection,
  mediaDevices: fakeMediaDevices().mediaDevices,
  clock: new SimulatedClock(),
});
export const driver: PeerModelDriver = {
  perform: (event) => (event.type === 'pc.failed' ? rtc.connections.at(-1)?.setConnectionState('failed') : undefined),
  observe: () => ({ status: 'idle' }),
};
`,
      );
      await sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
      const loaded = await node(`
      const client = await import('parley/client');
      const react = await import('parley/react');
      console.log([typeof client.createPeerAdapter, typeof client.connectSignaling, typeof react.useParleyCall].join(' '));
    `);
      expect(loaded).toBe('function function function');
    },
    INSTALL_TIMEOUT,
  );
});

describe.each([
  { major: 20, binary: () => process.execPath },
  { major: 22, binary: () => nodeBinary(22) },
  { major: 24, binary: () => nodeBinary(24) },
])('the installed package on Node $major', ({ major, binary }) => {
  let server: RunningParleyServer | undefined;
  afterAll(() => server?.drain(0));

  it(
    'makes a call between two parley/client adapters through a Parley server, with the fake peer connection of parley/testing',
    async () => {
      server ??= await startTestServer();
      const room = `node${major}-${Date.now().toString(36)}`;
      const output = await node(
        `
        import { createPeerAdapter, connectSignaling } from 'parley/client';
        import { createFakeRtc } from 'parley/testing';
        const rtc = createFakeRtc();
        const statuses = { a: [], b: [] };
        const open = (name) => {
          const call = createPeerAdapter({
            room: ${JSON.stringify(room)},
            connectSocket: connectSignaling(${JSON.stringify(server.url)}),
            RTCPeerConnection: rtc.RTCPeerConnection,
            onWarning: (message) => console.error(name + ': ' + message),
          });
          call.subscribe(({ status }) => statuses[name].at(-1) !== status && statuses[name].push(status));
          return call;
        };
        const until = async (done) => {
          for (let i = 0; i < 500 && !done(); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
          if (!done()) throw new Error('timed out: ' + JSON.stringify(statuses));
        };
        const a = open('a');
        a.join();
        await until(() => a.getSnapshot().status === 'waiting');
        const b = open('b');
        b.join();
        await until(() => a.getSnapshot().status === 'connected' && b.getSnapshot().status === 'connected');
        const linked = [a, b].map((call) => call.getSnapshot().signaling);
        a.hangUp();
        await until(() => b.getSnapshot().status === 'waiting');
        b.hangUp();
        console.log(JSON.stringify({ major: Number(process.versions.node.split('.')[0]), statuses, linked, violations: rtc.violations }));
      `,
        binary(),
      );
      expect(JSON.parse(output)).toEqual({
        major,
        statuses: {
          a: ['idle', 'joining', 'waiting', 'connecting', 'connected', 'closed'],
          // B waits for A's offer once the server has seated it.
          b: ['idle', 'joining', 'waiting', 'connecting', 'connected', 'waiting', 'closed'],
        },
        linked: ['connected', 'connected'],
        violations: [],
      });
    },
    INSTALL_TIMEOUT,
  );
});

/** A snippet that runs `code`, then prints whether a uWebSockets.js binary was loaded. */
function uwsLoadedAfter(code: string): string {
  return `${code}
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    console.log('uws loaded: ' + Object.keys(cache).some((path) => /uws_.*\\.node$/.test(path)));`;
}
