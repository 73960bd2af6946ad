/**
 * The scripts of docs/inspector.md run as written against a real Parley with `--inspect` (only
 * their ports changed): `watch.mjs` prints each snapshot of the stream, and `stately-relay.mjs`
 * feeds the stream into @statelyai/inspect's `createInspectorServer` bridge, where another
 * client reads Parley's events back. Nothing here needs the internet: whether stately.ai's UI
 * shows what the bridge passes on cannot be tested offline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { connectClient, startTestServer, type TestClient } from './helpers/parley.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(root, 'docs/inspector.md'), 'utf8');
const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'parley-inspector-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The ```js block of docs/inspector.md whose first line names `file`. */
function script(file: string): string {
  const block = new RegExp('```js\\n(// ' + file.replace('.', '\\.') + '[\\s\\S]*?)```').exec(doc)?.[1];
  if (block === undefined) throw new Error(`docs/inspector.md has no ${file}`);
  return block;
}

/** Runs `source` with node, its @statelyai/inspect imports pointed at this checkout's. */
function run(name: string, source: string): { child: ChildProcess; output: () => string } {
  const local = source
    .replaceAll("'@statelyai/inspect/server'", `'${pathToFileURL(require.resolve('@statelyai/inspect/server')).href}'`)
    .replaceAll("'@statelyai/inspect'", `'${pathToFileURL(require.resolve('@statelyai/inspect')).href}'`);
  const file = join(dir, name);
  writeFileSync(file, local);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cleanups.push(() => child.kill());
  return { child, output: () => output };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function inspectedServer(): Promise<RunningParleyServer> {
  const server = await startTestServer({ inspect: {} });
  cleanups.push(() => server.close());
  return server;
}

async function joinRoom(server: RunningParleyServer, room: string): Promise<TestClient> {
  const client = await connectClient(server.url, { room });
  cleanups.push(() => client.close());
  return client;
}

describe('docs/inspector.md', () => {
  it('watch.mjs prints each snapshot of the stream', async () => {
    const server = await inspectedServer();
    const { output } = run(
      'watch.mjs',
      script('watch.mjs').replace('ws://127.0.0.1:9999', `ws://127.0.0.1:${server.port}`),
    );
    await waitUntil(() => server.inspector!.hub.viewerCount === 1, 'watch.mjs to connect');
    await joinRoom(server, 'watched');
    await waitUntil(
      () => output().includes('room:watched "waiting"'),
      `a room snapshot in ${JSON.stringify(output())}`,
    );
  }, 30_000);

  it('stately-relay.mjs passes the stream to the createInspectorServer bridge, where another client reads it', async () => {
    const server = await inspectedServer();
    const bridgePort = await freePort();
    const relay = script('stately-relay.mjs')
      // Not opening a browser in a test; the rest as written.
      .replace(
        'createInspectorServer({ port: 8080 })',
        `createInspectorServer({ port: ${bridgePort}, autoOpen: false })`,
      )
      .replace("'ws://localhost:8080'", `'ws://127.0.0.1:${bridgePort}'`)
      .replace('ws://127.0.0.1:9999', `ws://127.0.0.1:${server.port}`);
    expect(relay).toContain('autoOpen: false');
    run('stately-relay.mjs', relay);
    await waitUntil(() => server.inspector!.hub.viewerCount === 1, 'the relay to connect to Parley');

    // Another client of the bridge, as its browser page would be.
    const received: StatelyInspectionEvent[] = [];
    const page = createWebSocketReceiver({ server: `ws://127.0.0.1:${bridgePort}` });
    // Whenever it connects, the bridge gives it the last 200 messages first.
    page.subscribe((event) => received.push(event));
    await joinRoom(server, 'relayed');
    await waitUntil(
      () => received.some((e) => e.type === '@xstate.snapshot' && e.sessionId === 'room:relayed'),
      'the room through the bridge',
    );
    const actor = received.find((e) => e.type === '@xstate.actor' && e.sessionId === 'room:relayed');
    expect(actor).toMatchObject({ type: '@xstate.actor', _version: '0.7.2' });
    expect(JSON.parse((actor as { definition: string }).definition)).toMatchObject({ id: 'room', initial: 'empty' });
  }, 30_000);
});
