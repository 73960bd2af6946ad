/**
 * The HAProxy configuration of docs/scaling.md, run by Debian's haproxy (installed by .ci/run) in
 * front of two plain Parley processes: long-polling clients stick to the node that answered their
 * handshake (the cookie HAProxy inserts), so a stock socket.io-client on `transports: ['polling']`
 * connects and exchanges events through it; without the cookie, the balancer sends the session's
 * next request to the other node, which answers 400 "Session ID unknown".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const scaling = readFileSync(join(root, 'docs/scaling.md'), 'utf8');
const documented = /```haproxy\n(# \/etc\/haproxy\/haproxy\.cfg\n[\s\S]*?)```/.exec(scaling)?.[1] ?? '';
const dir = mkdtempSync(join(tmpdir(), 'parley-haproxy-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  describe: string,
  timeoutMillis = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMillis} ms waiting for ${describe}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The documented configuration on loopback ports; without stickiness if `sticky` is false. */
function configuration(proxyPort: number, nodePorts: readonly number[], sticky: boolean): string {
  let config = documented
    .replace('bind :80', `bind 127.0.0.1:${proxyPort}`)
    .replace('10.0.0.1:9999', `127.0.0.1:${nodePorts[0]}`)
    .replace('10.0.0.2:9999', `127.0.0.1:${nodePorts[1]}`)
    // An fd budget this test's machine grants.
    .replace('maxconn 50000', 'maxconn 1000');
  if (!sticky) config = config.replace(/^\s*cookie PARLEY_NODE.*$/m, '').replaceAll(/ cookie node\d/g, '');
  return config;
}

/** haproxy in the foreground on `config`, stopped at the end of the file. */
async function startHaproxy(name: string, config: string, port: number): Promise<ChildProcess> {
  const path = join(dir, `${name}.cfg`);
  writeFileSync(path, config);
  const child = spawn('haproxy', ['-db', '-f', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  proxies.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    await response.arrayBuffer();
    return response.status === 200 ? true : undefined;
  }, `haproxy (${name}) to answer`).catch((error: Error) => {
    throw new Error(`${error.message}\n${output}`);
  });
  return child;
}

/** An Engine.IO polling handshake: the session id, and the node cookie HAProxy set, if any. */
async function handshake(port: number): Promise<{ sid: string; cookie: string | undefined }> {
  const response = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`);
  const body = await response.text();
  expect(response.status).toBe(200);
  const { sid } = JSON.parse(body.slice(1)) as { sid: string };
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  return { sid, cookie };
}

/** POSTs a Socket.IO CONNECT in session `sid`: the status and body of the answer. */
async function postConnect(port: number, sid: string, cookie: string | undefined) {
  const response = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST',
    body: '40',
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...(cookie === undefined ? {} : { cookie }) },
  });
  return { status: response.status, body: await response.text() };
}

const nodes: ParleyProcess[] = [];
const proxies: ChildProcess[] = [];
const nodePorts: number[] = [];
let stickyPort = 0;
let plainPort = 0;

beforeAll(async () => {
  for (let i = 0; i < 2; i++) nodes.push(runParley(['serve', '--port', '0']));
  for (const node of nodes) nodePorts.push(Number((await node.listening()).port));
  stickyPort = await freePort();
  plainPort = await freePort();
  await startHaproxy('sticky', configuration(stickyPort, nodePorts, true), stickyPort);
  await startHaproxy('plain', configuration(plainPort, nodePorts, false), plainPort);
});

afterAll(async () => {
  for (const proxy of proxies) proxy.kill('SIGKILL');
  await Promise.all(nodes.map((node) => node.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the HAProxy configuration of docs/scaling.md', () => {
  it('is there and haproxy accepts it', () => {
    expect(documented).toMatch(/cookie PARLEY_NODE insert/);
    const path = join(dir, 'check.cfg');
    writeFileSync(path, documented);
    const check = spawn('haproxy', ['-c', '-f', path]);
    return new Promise<void>((resolve, reject) => {
      check.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`haproxy -c exited with ${code}`))));
    });
  });

  it('spreads handshakes over both nodes and keeps each session on its own', async () => {
    const cookies = new Set<string>();
    await eventually(async () => {
      const { sid, cookie } = await handshake(stickyPort);
      expect(cookie).toMatch(/^PARLEY_NODE=node[12]$/);
      // Every request of the session carries the cookie, so reaches the node that knows it.
      for (let i = 0; i < 3; i++) {
        const answer = await postConnect(stickyPort, sid, cookie);
        if (i === 0) expect(answer).toEqual({ status: 200, body: 'ok' });
      }
      cookies.add(cookie!);
      return cookies.size === 2 ? true : undefined;
    }, 'handshakes on both nodes');
  });

  it('without stickiness, a polling session’s next request reaches the other node: Session ID unknown', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const { sid, cookie } = await handshake(plainPort);
      expect(cookie).toBeUndefined();
      answers.push(await postConnect(plainPort, sid, undefined));
    }
    expect(answers).toContainEqual({ status: 400, body: JSON.stringify({ code: 1, message: 'Session ID unknown' }) });
  });

  it('lets a stock socket.io-client on long-polling connect and exchange events through it', async () => {
    const connect = (port: number, withCredentials: boolean): Socket =>
      io(`http://127.0.0.1:${port}`, {
        transports: ['polling'],
        withCredentials,
        auth: { room: `haproxy-${port}` },
        reconnection: false,
        forceNew: true,
      });
    const client = connect(stickyPort, true);
    try {
      const role = await new Promise<unknown>((resolve, reject) => {
        client.once('role', resolve);
        client.once('connect_error', reject);
      });
      expect(role).toMatchObject({ room: `haproxy-${stickyPort}`, role: 'impolite' });
      expect(client.io.engine.transport.name).toBe('polling');
      // Several round trips over polling requests, each acknowledged by the same node.
      const errors: unknown[] = [];
      client.on('error', (payload: unknown) => errors.push(payload));
      for (let i = 0; i < 5; i++) {
        await client.timeout(10_000).emitWithAck('data', { type: 'offer', sdp: `v=${i}` });
      }
      await eventually(() => Promise.resolve(errors.length === 5 ? true : undefined), 'five no-peer errors');
      expect(errors[0]).toMatchObject({ code: 'no-peer' });
      expect(client.connected).toBe(true);
    } finally {
      client.disconnect();
    }

    // The same client without cookies behind the same balancer: it never gets a session going.
    const lost = connect(stickyPort, false);
    try {
      const outcome = await new Promise<string>((resolve) => {
        lost.once('connect', () => resolve('connected'));
        lost.once('connect_error', (error: Error) => resolve(`connect_error: ${error.message}`));
        lost.io.on('error', (error: Error) => resolve(`error: ${error.message}`));
      });
      expect(outcome).toMatch(/error/);
    } finally {
      lost.disconnect();
    }
  });
});
