/**
 * Parley as an operator runs it, as real processes with real clients on loopback: a taken port,
 * HEAD and health checks that keep their connections, JSON logs, /metrics of a real call and who
 * may read it, a graceful drain on SIGTERM that drops no client for good, compressed static
 * files with their security headers.
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortInUseError, type RunningParleyServer } from '../src/signaling/parley-server.js';
import type { ClientToServerEvents, RolePayload, ServerToClientEvents } from '../src/protocol/signaling-events.js';
import { connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import { runParley, type LogRecord, type ParleyProcess } from './helpers/parley-process.js';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** One HTTP exchange, with the socket that carried it. */
interface Exchange {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly socket: net.Socket;
}

/** Sends one request through `agent` and reads the whole answer. */
function exchange(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: http.Agent | false } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      agent: options.agent ?? false,
    });
    let socket: net.Socket | undefined;
    req.on('socket', (s) => (socket = s));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), socket: socket! }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The headers a HEAD must answer as GET does. */
function entityHeaders(headers: http.IncomingHttpHeaders): Record<string, unknown> {
  const names = [
    'content-type',
    'content-encoding',
    'etag',
    'vary',
    'cache-control',
    'content-security-policy',
    'x-content-type-options',
  ];
  return Object.fromEntries(names.map((name) => [name, headers[name]]));
}

/** Prometheus text as a map from series (`name{labels}`) to value. */
function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) series.set(match[1], Number(match[2]));
  }
  return series;
}

/** Whether a new TCP connection to `port` on loopback is accepted. */
function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A small web app: an HTML page and a hashed asset, both large enough to be compressed. */
async function writeStaticApp(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'parley-ops-'));
  const dir = join(parent, 'web');
  await mkdir(join(dir, 'assets'), { recursive: true });
  const paragraphs = Array.from({ length: 40 }, (_, i) => `<p>Paragraph ${i} of the test page.</p>`).join('\n');
  await writeFile(
    join(dir, 'index.html'),
    `<!doctype html>\n<html><head><title>Parley</title><script type="module" src="/assets/app-3f2a9c.js"></script></head>\n<body>\n${paragraphs}\n</body></html>\n`,
  );
  const statements = Array.from({ length: 60 }, (_, i) => `export const value${i} = 'value number ${i}';`).join('\n');
  await writeFile(join(dir, 'assets', 'app-3f2a9c.js'), `${statements}\n`);
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

describe('a taken port', () => {
  it('makes a second parley serve exit 1 with a message naming the port, and the first keeps serving', async () => {
    const first = runParley(['serve', '--port', '0']);
    try {
      const url = await first.listening();
      const port = Number(url.port);
      const second = runParley(['serve', '--port', String(port)]);
      expect(await second.exited).toBe(1);
      const fatal = second.records().find((r) => r.level === 60);
      expect(fatal).toMatchObject({ port, msg: expect.stringContaining(`127.0.0.1:${port}`) });
      expect(fatal!.msg).toMatch(/port is in use/);
      const health = await fetch(`${url.origin}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      expect(first.child.exitCode).toBeNull();
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  it('makes startParleyServer reject with PortInUseError in-process', async () => {
    const first = await startTestServer();
    try {
      const second = startTestServer({ port: first.port });
      await expect(second).rejects.toBeInstanceOf(PortInUseError);
      await expect(second).rejects.toThrow(`127.0.0.1:${first.port}`);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      first.close();
    }
  });
});

describe('HTTP from a parley process serving a web app', () => {
  let app: Awaited<ReturnType<typeof writeStaticApp>>;
  let parley: ParleyProcess;
  let base: string;

  beforeAll(async () => {
    app = await writeStaticApp();
    parley = runParley(['serve', '--port', '0', '--static', app.dir]);
    base = (await parley.listening()).origin;
  });
  afterAll(async () => {
    await parley?.stop();
    await app?.remove();
  });

  it('answers HEAD everywhere with GET’s status and headers and no body, on one kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const exchanges: Exchange[] = [];
    const send = async (path: string, method: string, headers: Record<string, string> = {}): Promise<Exchange> => {
      const answer = await exchange(`${base}${path}`, { method, headers, agent });
      exchanges.push(answer);
      return answer;
    };
    try {
      for (const [path, status] of [
        ['/', 200],
        ['/index.html', 200],
        ['/assets/app-3f2a9c.js', 200],
        ['/assets/app-000000.js', 404],
      ] as const) {
        for (const acceptEncoding of ['', 'gzip', 'br']) {
          const headers: Record<string, string> = acceptEncoding === '' ? {} : { 'accept-encoding': acceptEncoding };
          const get = await send(path, 'GET', headers);
          const head = await send(path, 'HEAD', headers);
          expect(get.status, `GET ${path} (${acceptEncoding})`).toBe(status);
          expect(head.status, `HEAD ${path} (${acceptEncoding})`).toBe(status);
          expect(head.body.length).toBe(0);
          expect(get.body.length).toBeGreaterThan(0);
          expect(head.headers['content-length']).toBe(String(get.body.length));
          expect(entityHeaders(head.headers)).toEqual(entityHeaders(get.headers));
        }
      }

      // /healthz reports open files, sampled now and then: GET on both sides of HEAD.
      const before = await send('/healthz', 'GET');
      const headHealth = await send('/healthz', 'HEAD');
      const after = await send('/healthz', 'GET');
      expect(headHealth.status).toBe(200);
      expect(headHealth.body.length).toBe(0);
      expect(headHealth.headers['content-type']).toBe('application/json');
      expect([String(before.body.length), String(after.body.length)]).toContain(headHealth.headers['content-length']);

      // Metrics change between scrapes (CPU, heap): the length is GET's give or take a few digits.
      const getMetrics = await send('/metrics', 'GET');
      const headMetrics = await send('/metrics', 'HEAD');
      expect(headMetrics.status).toBe(200);
      expect(headMetrics.body.length).toBe(0);
      expect(headMetrics.headers['content-type']).toBe(getMetrics.headers['content-type']);
      expect(Math.abs(Number(headMetrics.headers['content-length']) - getMetrics.body.length)).toBeLessThan(200);

      // HEAD is no Engine.IO handshake (engine.io answers it 400 too), and opens no session.
      const headEngine = await send('/socket.io/?EIO=4&transport=polling', 'HEAD');
      expect(headEngine.status).toBe(400);
      expect(headEngine.body.length).toBe(0);
      expect(headEngine.headers['content-length']).toBe('0');
      // A page of a foreign origin is refused 403 before anything else, HEAD too, without a body.
      const foreign = { origin: 'https://elsewhere.example' };
      const getRefused = await send('/socket.io/?EIO=4&transport=polling', 'GET', foreign);
      const headRefused = await send('/socket.io/?EIO=4&transport=polling', 'HEAD', foreign);
      expect(getRefused.status).toBe(403);
      expect(headRefused.status).toBe(403);
      expect(headRefused.body.length).toBe(0);
      expect(headRefused.headers['content-length']).toBe(String(getRefused.body.length));

      const last = await send('/healthz', 'GET');
      expect(last.status).toBe(200);
      expect(JSON.parse(last.body.toString())).toMatchObject({ status: 'ok', sessions: 0 });
      // Every exchange, HEADs included, went over the one connection: none was reset.
      expect(new Set(exchanges.map((e) => e.socket)).size).toBe(1);
      expect(parley.child.exitCode).toBeNull();
      expect(parley.child.signalCode).toBeNull();
    } finally {
      agent.destroy();
    }
  });

  it('answers a health check that asks to close the connection (HTTP/1.1, Connection: close), then closes it', async () => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<'closed by the server' | 'still open'>((resolve) => {
      socket.once('end', () => resolve('closed by the server'));
      setTimeout(() => resolve('still open'), 5_000);
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: health-checker\r\nConnection: close\r\n\r\n');
    try {
      expect(await ended).toBe('closed by the server');
      const text = Buffer.concat(received).toString();
      const [head, body] = text.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head).toMatch(new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(body)}(\\r\\n|$)`, 'i'));
      expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
    } finally {
      socket.destroy();
    }
  });

  it('serves the app brotli- or gzip-compressed as accepted, with CSP, Vary and per-encoding ETags', async () => {
    const identity = await exchange(`${base}/`);
    const br = await exchange(`${base}/`, { headers: { 'accept-encoding': 'br' } });
    const gzip = await exchange(`${base}/`, { headers: { 'accept-encoding': 'gzip' } });
    const preferred = await exchange(`${base}/`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });

    expect(identity.status).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body.toString()).toContain('<title>Parley</title>');
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
    expect(br.body.length).toBeLessThan(identity.body.length);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
    expect(preferred.headers['content-encoding']).toBe('br');

    const etags = new Set([identity, br, gzip].map((r) => r.headers['etag']));
    expect(etags.size).toBe(3);
    for (const answer of [identity, br, gzip]) {
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['vary']).toBe('Accept-Encoding');
      expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(answer.headers['cache-control']).toBe('no-cache');
    }

    // Revalidation: the ETag of the encoding asked for gives 304; another encoding's does not.
    for (const [acceptEncoding, answer] of [
      ['', identity],
      ['br', br],
      ['gzip', gzip],
    ] as const) {
      const etag = answer.headers['etag']!;
      const headers: Record<string, string> = { 'if-none-match': etag };
      if (acceptEncoding !== '') headers['accept-encoding'] = acceptEncoding;
      const revalidated = await exchange(`${base}/`, { headers });
      expect(revalidated.status, `If-None-Match with ${acceptEncoding || 'identity'}`).toBe(304);
      expect(revalidated.headers['etag']).toBe(etag);
      expect(revalidated.body.length).toBe(0);
    }
    const crossed = await exchange(`${base}/`, {
      headers: { 'accept-encoding': 'br', 'if-none-match': identity.headers['etag']! },
    });
    expect(crossed.status).toBe(200);
    expect(crossed.headers['content-encoding']).toBe('br');

    // Hashed assets are cached for good; pages are revalidated.
    const asset = await exchange(`${base}/assets/app-3f2a9c.js`, { headers: { 'accept-encoding': 'br' } });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });
});

describe('the log', () => {
  it('is one JSON line per record on a pipe, with one line per closed session and a warn line for a bad frame', async () => {
    const parley = runParley(['serve', '--port', '0']);
    const url = await parley.listening();
    const clients: TestClient[] = [];
    try {
      const websocket = await connectClient(url.origin, { room: 'logs', mode: 'websocket' });
      const polling = await connectClient(url.origin, { room: 'logs', mode: 'polling' });
      clients.push(websocket, polling);
      await websocket.next('role');
      await polling.next('role');
      const sessions = [
        { sid: websocket.socket.io.engine.id, transport: 'websocket', client: websocket },
        { sid: polling.socket.io.engine.id, transport: 'polling', client: polling },
      ];
      for (const { client } of sessions) client.close();

      // A client that sends '42': an Engine.IO message holding a Socket.IO EVENT with no name.
      const raw = new WebSocket(`ws://127.0.0.1:${url.port}/socket.io/?EIO=4&transport=websocket`);
      const rawSid = await new Promise<string>((resolve, reject) => {
        raw.once('message', (data: Buffer) => resolve((JSON.parse(String(data).slice(1)) as { sid: string }).sid));
        raw.once('error', reject);
      });
      const rawClosed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
      raw.send('42');
      expect(await rawClosed).toBe(1002);

      for (const { sid } of sessions) {
        await parley.waitForRecord((r) => r.msg === 'session closed' && r['sid'] === sid, `the close of ${sid}`);
      }
      await parley.waitForRecord((r) => r['sid'] === rawSid, 'the parse error line');
      expect(await parley.stop()).toBe(0);

      expect(parley.lines.length).toBeGreaterThan(5);
      for (const line of parley.lines) {
        const record = JSON.parse(line) as LogRecord;
        expect(typeof record.level, line).toBe('number');
        expect(typeof record.msg, line).toBe('string');
      }
      const records = parley.records();
      for (const { sid, transport } of sessions) {
        const closes = records.filter((r) => r.msg === 'session closed' && r['sid'] === sid);
        expect(closes).toEqual([
          expect.objectContaining({ level: 30, reason: 'transport close', sid, address: '127.0.0.1', transport }),
        ]);
      }
      expect(records.filter((r) => r['sid'] === rawSid)).toEqual([
        expect.objectContaining({ level: 40, msg: 'session closed', reason: 'parse error', address: '127.0.0.1' }),
      ]);
      expect(records.filter((r) => r.level >= 40)).toHaveLength(1);
      expect(parley.stderr()).toBe('');
    } finally {
      clients.forEach((c) => c.close());
      await parley.stop();
    }
  });

  it('prints parley and the package version with --version, and exits 0', async () => {
    const parley = runParley(['--version']);
    expect(await parley.exited).toBe(0);
    expect(parley.lines).toEqual([`parley ${packageVersion}`]);
  });
});

describe('/metrics', () => {
  const servers: RunningParleyServer[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const start = async (...args: Parameters<typeof startTestServer>): Promise<RunningParleyServer> => {
    const server = await startTestServer(...args);
    servers.push(server);
    return server;
  };
  const scrape = async (server: RunningParleyServer): Promise<Map<string, number>> => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    return parseMetrics(await response.text());
  };

  it('counts a real call: relayed messages and bytes, rooms, sessions, connections, closes', async () => {
    const server = await start();
    const first = await connectClient(server.url, { room: 'metrics', mode: 'websocket' });
    const second = await connectClient(server.url, { room: 'metrics', mode: 'websocket' });
    try {
      await first.next('ready');
      const signal = {
        type: 'candidate' as const,
        candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 },
      };
      for (let i = 0; i < 25; i++) {
        first.socket.emit('data', signal);
        second.socket.emit('data', signal);
      }
      await first.waitForCount('data', 25);
      await second.waitForCount('data', 25);

      const during = await scrape(server);
      expect(during.get('parley_relayed_messages_total')).toBe(50);
      expect(during.get('parley_relayed_bytes_total')).toBeGreaterThanOrEqual(50 * JSON.stringify(signal).length);
      expect(during.get('parley_rooms{state="ready"}')).toBe(1);
      expect(during.get('parley_rooms{state="waiting"}')).toBe(0);
      expect(during.get('parley_sessions{transport="websocket"}')).toBe(2);
      expect(during.get('parley_sessions{transport="polling"}')).toBe(0);
      expect(during.get('parley_connections')).toBeGreaterThanOrEqual(2);
      expect(during.has('nodejs_eventloop_lag_seconds')).toBe(true);
      expect(during.get('parley_dropped_messages_total{reason="no peer"}')).toBe(0);

      second.close();
      await expect
        .poll(async () => (await scrape(server)).get('parley_session_closes_total{reason="transport close"}'))
        .toBe(1);
      const after = await scrape(server);
      expect(after.get('parley_rooms{state="ready"}')).toBe(0);
      expect(after.get('parley_rooms{state="waiting"}')).toBe(1);
      expect(after.get('parley_sessions{transport="websocket"}')).toBe(1);
      expect(after.get('parley_relayed_messages_total')).toBe(50);
    } finally {
      first.close();
      second.close();
    }
  });

  it('needs the bearer token when one is set, is refused to proxied requests without one, and can be off', async () => {
    const withToken = await start({ metrics: { enabled: true, token: 't' } });
    const bare = await fetch(`${withToken.url}/metrics`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${withToken.url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const authorized = await fetch(`${withToken.url}/metrics`, { headers: { authorization: 'Bearer t' } });
    expect(authorized.status).toBe(200);
    expect(await authorized.text()).toContain('parley_connections');

    const loopbackOnly = await start();
    expect((await fetch(`${loopbackOnly.url}/metrics`)).status).toBe(200);
    const proxied = await fetch(`${loopbackOnly.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(proxied.status).toBe(403);
    expect((await fetch(`${loopbackOnly.url}/metrics`, { headers: { forwarded: 'for=203.0.113.7' } })).status).toBe(
      403,
    );

    const off = await start({ metrics: { enabled: false } });
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
  });
});

/** A socket.io-client that reconnects by itself, recording what it went through. */
interface ReconnectingClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly room: string;
  readonly transport: 'websocket' | 'polling';
  /** `role`, `peer-left` and `disconnect:<reason>`, in order. */
  readonly events: string[];
  readonly disconnects: string[];
  readonly roles: RolePayload[];
}

function reconnectingClient(origin: string, room: string, transport: 'websocket' | 'polling'): ReconnectingClient {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(origin, {
    transports: [transport],
    upgrade: false,
    auth: { room },
    forceNew: true,
    reconnection: true,
    // Quick retries keep the test short; the defaults (1 to 5 s) behave the same, only slower.
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  const client: ReconnectingClient = { socket, room, transport, events: [], disconnects: [], roles: [] };
  socket.on('disconnect', (reason) => {
    client.disconnects.push(reason);
    client.events.push(`disconnect:${reason}`);
  });
  socket.on('role', (payload) => {
    client.roles.push(payload);
    client.events.push('role');
  });
  socket.on('peer-left', () => client.events.push('peer-left'));
  return client;
}

describe('SIGTERM', () => {
  it('drains: the listener closes first, every client is told to reconnect, the process exits 0 in time, and a restart on the port gets every client back', async () => {
    const first = runParley(['serve', '--port', '0', '--drain-timeout', '4']);
    const origin = (await first.listening()).origin;
    const port = Number(new URL(origin).port);
    const clients: ReconnectingClient[] = [];
    let second: ParleyProcess | undefined;
    try {
      // Ten rooms of two, one client on each transport, the polling one first.
      for (let i = 0; i < 10; i++) clients.push(reconnectingClient(origin, `drain-${i}`, 'polling'));
      await expect.poll(() => clients.filter((c) => c.roles.length === 1).length, { timeout: 10_000 }).toBe(10);
      for (let i = 0; i < 10; i++) clients.push(reconnectingClient(origin, `drain-${i}`, 'websocket'));
      await expect.poll(() => clients.filter((c) => c.roles.length === 1).length, { timeout: 10_000 }).toBe(20);
      expect(new Set(clients.map((c) => `${c.room}/${c.roles[0].role}`)).size).toBe(20);

      const signalled = Date.now();
      const exitedAfter = first.exited.then((code) => ({ code, ms: Date.now() - signalled }));
      first.child.kill('SIGTERM');
      // The drain closes the listener, then the first session: after its line, nothing connects.
      await first.waitForRecord((r) => r.reason === 'server shutting down', 'the first drained session');
      expect(await tcpConnects(port)).toBe(false);

      await expect.poll(() => clients.filter((c) => c.disconnects.length > 0).length, { timeout: 5_000 }).toBe(20);
      for (const client of clients) {
        // 'transport close': the client reconnects by itself ('io server disconnect' would not).
        // A polling client may see 'transport error' instead, and reconnects all the same: when
        // its session is closed between two GETs (just after a response: peer-left when its peer
        // was drained first, or under load any packet), the close waits for the next GET, which
        // needs a new connection (Node's client keeps none alive) that the closed listener
        // refuses. A WebSocket client always hears the close on its open connection.
        expect(client.disconnects, `${client.transport} client of ${client.room}: ${client.events.join()}`).toEqual([
          client.transport === 'polling' ? expect.stringMatching(/^transport (close|error)$/) : 'transport close',
        ]);
      }
      const exit = await exitedAfter;
      expect(exit.code).toBe(0);
      expect(exit.ms).toBeLessThan(4_000 + 1_000);
      expect(first.records().filter((r) => r.reason === 'server shutting down')).toHaveLength(20);
      expect(first.records().some((r) => r.msg === 'drained, exiting')).toBe(true);

      // The next process on the same port: every client comes back by itself, to its room.
      second = runParley(['serve', '--port', String(port)]);
      await second.listening();
      await expect.poll(() => clients.filter((c) => c.roles.length === 2).length, { timeout: 10_000 }).toBe(20);
      for (const client of clients) {
        expect(client.socket.connected).toBe(true);
        expect(client.roles.map((r) => r.room)).toEqual([client.room, client.room]);
      }
      const health = (await (await fetch(`${origin}/healthz`)).json()) as { sessions: number; rooms: number };
      expect(health).toMatchObject({ sessions: 20, rooms: 10 });
    } finally {
      clients.forEach((c) => c.socket.disconnect());
      await first.stop('SIGKILL');
      if (second) expect(await second.stop()).toBe(0);
    }
  });

  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGTERM'],
  ] as const)('%s then %s during the drain exits at once', async (firstSignal, secondSignal) => {
    // A 20 s timeout spreads the drain over 5 s: 20 sessions take 2 s to close, one every 100 ms.
    const parley = runParley(['serve', '--port', '0', '--drain-timeout', '20']);
    const origin = (await parley.listening()).origin;
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => connectClient(origin, { room: `second-${Math.floor(i / 2)}` })),
    );
    try {
      await Promise.all(clients.map((c) => c.next('role')));
      parley.child.kill(firstSignal);
      await parley.waitForRecord((r) => r.signal === firstSignal, 'the draining line');
      const signalled = Date.now();
      const exitedAfter = parley.exited.then((code) => ({ code, ms: Date.now() - signalled }));
      parley.child.kill(secondSignal);
      const exit = await exitedAfter;
      expect(exit.code).toBe(1);
      expect(exit.ms).toBeLessThan(1_000);
      expect(parley.records()).toContainEqual(
        expect.objectContaining({ level: 40, signal: secondSignal, msg: 'second signal: exiting now' }),
      );
      expect(parley.records().filter((r) => r.reason === 'server shutting down').length).toBeLessThan(20);
    } finally {
      clients.forEach((c) => c.close());
      await parley.stop('SIGKILL');
    }
  });
});
