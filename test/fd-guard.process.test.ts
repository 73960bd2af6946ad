/**
 * The fd guard in a real Parley process at a real open-file limit (300): a flood of TCP
 * connections beyond the limit must not make it spin (uSockets' accept loop does, on EMFILE,
 * without the guard), calls already up keep relaying, new connections are refused at once
 * instead of timing out, and once the flood is gone the server accepts again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket as TcpSocket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';

const FILE_LIMIT = 300;
const FLOOD_CONNECTIONS = 400;
const CONNECT_TIMEOUT_MILLIS = 2000;
const root = fileURLToPath(new URL('..', import.meta.url));
const helpers = pathToFileURL(fileURLToPath(new URL('helpers/parley.ts', import.meta.url))).href;

// The server: Parley with the test helper's defaults, its log lines on stdout.
const SERVER_SCRIPT = `
const { startTestServer } = await import(${JSON.stringify(helpers)});
const line = (level) => (fields, message) => console.log(JSON.stringify({ level, message, ...fields }));
const server = await startTestServer({ log: { warn: line('warn'), info: line('info') }, metrics: { enabled: false } });
console.log('listening on ' + server.url);
process.on('SIGTERM', () => { server.close(); process.exit(0); });
`;

/** CPU time (user + system) of a process in ms, from /proc/PID/stat (proc(5) fields 14 and 15). */
function cpuMillis(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** 'connected', 'timeout', or the error code (ECONNREFUSED, ECONNRESET, ...). */
type ConnectOutcome = string;

/** Opens a TCP connection; resolves with how the attempt ended, the socket kept open if it connected. */
function openTcp(port: number, sockets: TcpSocket[]): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const timer = setTimeout(() => resolve('timeout'), CONNECT_TIMEOUT_MILLIS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
}

function tally(outcomes: readonly ConnectOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

describe('a Parley process at its open-file limit', () => {
  let child: ChildProcess;
  let output = '';
  let url = '';
  let port = 0;
  const clients: TestClient[] = [];

  /** Resolves once the server has logged `count` lines matching `pattern`. */
  async function logged(pattern: RegExp, count = 1, timeoutMillis = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMillis;
    const global = new RegExp(pattern.source, 'g');
    while ((output.match(global) ?? []).length < count) {
      if (Date.now() > deadline) throw new Error(`no ${count}× log line matching ${pattern} in:\n${output}`);
      await sleep(20);
    }
  }

  /** Opens more connections than the process may have files (they send nothing); resolves once it paused. */
  async function flood(pauses: number): Promise<{ sockets: TcpSocket[]; outcomes: Record<string, number> }> {
    const sockets: TcpSocket[] = [];
    const outcomes = tally(await Promise.all(Array.from({ length: FLOOD_CONNECTIONS }, () => openTcp(port, sockets))));
    await logged(/not accepting new connections/, pauses);
    return { sockets, outcomes };
  }

  /** GET /healthz on a connection of its own that closes after the answer (fetch would keep it open). */
  function health(): Promise<{ files: { accepting: boolean; fileLimit: number } }> {
    return new Promise((resolve, reject) => {
      get(`${url}/healthz`, { agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += String(chunk)));
        response.on('end', () => resolve(JSON.parse(body) as { files: { accepting: boolean; fileLimit: number } }));
      }).on('error', reject);
    });
  }

  /** `from` sends a data message; `to` must receive it. */
  async function relays(from: TestClient, to: TestClient, marker: string): Promise<void> {
    const seen = to.all('data').length;
    from.socket.emit('data', candidateSignal(marker));
    const [last] = (await to.waitForCount('data', seen + 1, 3000)).slice(-1);
    expect(JSON.stringify(last.args)).toContain(marker);
  }

  beforeAll(async () => {
    // bash's ulimit sets the soft and the hard limit, so Node cannot raise it again.
    child = spawn(
      'bash',
      [
        '-c',
        `ulimit -n ${FILE_LIMIT} && exec "$0" "$@"`,
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        SERVER_SCRIPT,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
    child.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
    await logged(/listening on http:\/\/\S+/, 1, 15_000);
    url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? '';
    port = Number(new URL(url).port);
  }, 20_000);

  afterAll(() => {
    for (const client of clients) client.close();
    child.kill('SIGKILL');
  });

  it('refuses new connections at once, keeps calls up, does not spin, and accepts again later', async () => {
    expect((await health()).files).toMatchObject({ accepting: true, fileLimit: FILE_LIMIT });
    const a = await connectClient(url, { room: 'at-the-limit' });
    const b = await connectClient(url, { room: 'at-the-limit' });
    clients.push(a, b);
    await a.next('ready');
    await relays(a, b, 'before');

    const { sockets, outcomes } = await flood(1);
    expect(outcomes['timeout'] ?? 0).toBe(0);
    // Connections past the limit were refused, or reset when the guard closed the listen socket
    // with them in its backlog: none is left waiting. Those still open are the ones the server
    // accepted, which it cannot have more of than its limit.
    await sleep(300);
    const stillOpen = sockets.filter((socket) => !socket.destroyed).length;
    expect(stillOpen).toBeGreaterThan(FILE_LIMIT / 2);
    expect(stillOpen).toBeLessThan(FILE_LIMIT);

    // A new connection is refused by the kernel at once instead of hanging in the backlog.
    const started = Date.now();
    expect(await openTcp(port, sockets)).toBe('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(1000);

    // The call that was up keeps working, both ways.
    await relays(a, b, 'during-a');
    await relays(b, a, 'during-b');

    // The server idles instead of spinning in its accept loop.
    const pid = child.pid ?? 0;
    const cpuBefore = cpuMillis(pid);
    await sleep(2000);
    expect((cpuMillis(pid) - cpuBefore) / 2000).toBeLessThan(0.5);
    await relays(a, b, 'still');

    // The flood goes away; the call stays (its connections keep the port bound): the server
    // listens on the same port again and new clients join.
    for (const socket of sockets) socket.destroy();
    await logged(/accepting new connections again/);
    expect((await health()).files.accepting).toBe(true);
    const c = await connectClient(url, { room: 'after-the-flood' });
    clients.push(c);
    await c.next('role');
    await relays(b, a, 'after');
  }, 30_000);

  it('waits to listen again, instead of exiting, when every connection closes while it is paused', async () => {
    const { sockets } = await flood(2);
    // Nothing else holds the event loop: no call, no listen socket, only the guard's timer.
    for (const socket of sockets) socket.destroy();
    for (const client of clients.splice(0)) client.close();
    await logged(/accepting new connections again/, 2);
    expect(child.exitCode).toBe(null);
    expect((await health()).files.accepting).toBe(true);
  }, 20_000);
});
