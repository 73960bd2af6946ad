/**
 * A real `redis-server` (Debian's package, installed by .ci/run) on a free loopback port, for the
 * cluster tests: no config file, no persistence (`--save '' --appendonly no`), so a restart
 * starts empty, as a Redis without persistence does in production; or, when asked, with an
 * append-only file in a temporary directory, so a restart keeps the data. It can be stopped and
 * started again on the same port, which is how the tests take Redis away and bring it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running (or stopped, and restartable) redis-server. */
export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  /** The process id while it runs. */
  readonly pid: number | undefined;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and waits until the port refuses connections. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
}

const START_TIMEOUT_MILLIS = 10_000;
const STOP_TIMEOUT_MILLIS = 5000;

/** A port that was free on 127.0.0.1 a moment ago. */
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

/** One PING over a raw socket: true when the server answered +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/** How to run it. */
export interface RedisServerOptions {
  /** Keep the data across restarts (an append-only file, fsynced on every write); default false. */
  readonly persistent?: boolean;
}

/** Starts redis-server on a free loopback port and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const persistence = options.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', mkdtempSync(join(tmpdir(), 'parley-redis-'))]
    : ['--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null) throw new Error('redis-server is already running');
    output = '';
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    // A test run that ends without stopping it (a crash, a timeout) must not leave it running.
    const orphanGuard = (): void => void started.kill('SIGKILL');
    process.once('exit', orphanGuard);
    started.once('exit', () => process.removeListener('exit', orphanGuard));
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    const failed = new Promise<never>((_, reject) => {
      started.once('error', (error) => reject(new Error(`redis-server did not start: ${error.message}`)));
      started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
    });
    failed.catch(() => {});
    const deadline = Date.now() + START_TIMEOUT_MILLIS;
    while (!(await Promise.race([ping(port), failed]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MILLIS} ms`);
      await sleep(25);
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_TIMEOUT_MILLIS);
    await exited;
    clearTimeout(timer);
    // The port is closed with the process; make sure before a test relies on it.
    while (await ping(port)) await sleep(25);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    stop,
    start,
  };
}
