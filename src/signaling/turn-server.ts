/**
 * A development TURN server: Debian's coturn (`turnserver`) run as a child process with a
 * generated configuration, bound to loopback, checking the same TURN REST credentials that
 * Parley issues (`use-auth-secret`). `parley turn` and `parley serve --turn` use it; tests use it
 * to relay real calls. It is NOT a production setup: docs/deployment.md describes one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The realm coturn puts in its challenges; long-term credentials are keyed by it. */
export const DEV_TURN_REALM = 'parley.local';

/** How to run the development TURN server. Every field has a default. */
export interface TurnServerOptions {
  /** UDP and TCP port to listen on; 0 or absent picks one that is free on both. */
  readonly port?: number;
  /** coturn's `static-auth-secret`; a random one if absent. */
  readonly secret?: string;
  readonly realm?: string;
  /** Address to listen and relay on. Loopback by default: a dev server must not be an open relay. */
  readonly ip?: string;
  /** Relay ports (`min-port`/`max-port`); a small random range by default. */
  readonly relayPorts?: { readonly min: number; readonly max: number };
  /** The coturn binary. */
  readonly command?: string;
  /** Receives coturn's log, line by line. */
  readonly onLog?: (line: string) => void;
  /** How long coturn may take to answer its first STUN request. */
  readonly startTimeoutMs?: number;
}

/** A coturn process that answers STUN on its port. */
export interface RunningTurnServer {
  readonly ip: string;
  readonly port: number;
  readonly secret: string;
  readonly realm: string;
  readonly relayPorts: { readonly min: number; readonly max: number };
  /** `turn:` URLs over UDP and TCP, as `parley serve --turn-url` takes them. */
  readonly turnUrls: readonly string[];
  /** The same server as a STUN URL. */
  readonly stunUrl: string;
  readonly pid: number;
  /** Resolves with coturn's exit code (or null after a signal) when it ends, for whatever reason. */
  readonly exited: Promise<number | null>;
  /** Stops coturn (SIGTERM, then SIGKILL) and removes its temporary files. */
  stop(): Promise<void>;
}

/** The coturn configuration file for these settings (one `key=value` or flag per line). */
export function coturnConfig(settings: {
  readonly ip: string;
  readonly port: number;
  readonly secret: string;
  readonly realm: string;
  readonly relayPorts: { readonly min: number; readonly max: number };
  readonly workDir: string;
}): string {
  return [
    `listening-ip=${settings.ip}`,
    `relay-ip=${settings.ip}`,
    `listening-port=${settings.port}`,
    `min-port=${settings.relayPorts.min}`,
    `max-port=${settings.relayPorts.max}`,
    // The TURN REST scheme: credentials are HMACs of the username with this secret.
    'use-auth-secret',
    `static-auth-secret=${settings.secret}`,
    `realm=${settings.realm}`,
    'fingerprint',
    // coturn 4.6 refuses allow-loopback-peers unless the telnet CLI is off.
    'no-cli',
    // Both browsers of a dev call relay to 127.0.0.1; coturn forbids loopback peers otherwise.
    'allow-loopback-peers',
    'no-multicast-peers',
    'no-tls',
    'no-dtls',
    'log-file=stdout',
    'simple-log',
    // Keep coturn's pid file and SQLite database out of /var so several can run side by side.
    `pidfile=${join(settings.workDir, 'turnserver.pid')}`,
    `userdb=${join(settings.workDir, 'turndb')}`,
    '',
  ].join('\n');
}

/** Starts coturn and resolves once it answers a STUN Binding request on its port. */
export async function startTurnServer(options: TurnServerOptions = {}): Promise<RunningTurnServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port === undefined || options.port === 0 ? await freeTcpAndUdpPort(ip) : options.port;
  const secret = options.secret ?? randomBytes(24).toString('base64url');
  const realm = options.realm ?? DEV_TURN_REALM;
  const relayPorts = options.relayPorts ?? randomRelayRange();
  const workDir = mkdtempSync(join(tmpdir(), 'parley-turn-'));
  const configPath = join(workDir, 'turnserver.conf');
  writeFileSync(configPath, coturnConfig({ ip, port, secret, realm, relayPorts, workDir }), { mode: 0o600 });

  const child = spawn(options.command ?? 'turnserver', ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const onLine = (line: string): void => {
    log.push(line);
    if (log.length > 50) log.shift();
    options.onLog?.(line);
  };
  forwardLines(child, onLine);

  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      onLine(`cannot run ${options.command ?? 'turnserver'}: ${error.message} (apt-get install coturn)`);
      resolve(null);
    });
  });
  const cleanUp = (): void => rmSync(workDir, { recursive: true, force: true });
  // If the parent exits without stopping us, don't leave coturn running behind it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    cleanUp();
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    cleanUp();
  };

  const ready = await Promise.race([
    waitForStun(ip, port, options.startTimeoutMs ?? 10_000).then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
  ]).catch((error: unknown) => error as Error);
  if (ready !== 'ready') {
    await stop();
    const why = ready === 'exited' ? 'coturn exited' : ready.message;
    throw new Error(`The TURN server did not start on ${ip}:${port}: ${why}.\n${log.join('\n')}`);
  }

  return {
    ip,
    port,
    secret,
    realm,
    relayPorts,
    turnUrls: [`turn:${ip}:${port}?transport=udp`, `turn:${ip}:${port}?transport=tcp`],
    stunUrl: `stun:${ip}:${port}`,
    pid: child.pid ?? -1,
    exited,
    stop,
  };
}

/** The `parley serve` command line that uses this TURN server. */
export function serveCommandFor(turn: Pick<RunningTurnServer, 'turnUrls' | 'secret'>): string {
  return ['parley serve', ...turn.turnUrls.map((url) => `--turn-url '${url}'`), `--turn-secret '${turn.secret}'`].join(
    ' ',
  );
}

function forwardLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line);
    });
  }
}

/**
 * A relay range of 100 ports at a random place below Linux's ephemeral range (32768+), so
 * that several dev servers (parallel test files) rarely overlap and never fight the kernel.
 */
function randomRelayRange(): { min: number; max: number } {
  const min = 20_000 + 100 * Math.floor(Math.random() * 120);
  return { min, max: min + 99 };
}

/** A port free for both TCP and UDP on `ip` (coturn listens on both). */
async function freeTcpAndUdpPort(ip: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, ip, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, ip, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${ip}`);
}

const STUN_MAGIC_COOKIE = 0x2112a442;

/** Sends STUN Binding requests over UDP until one is answered. */
function waitForStun(ip: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const transactionId = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes (RFC 5389 section 6)
    request.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
    transactionId.copy(request, 8);
    const finish = (error?: Error): void => {
      clearInterval(resend);
      clearTimeout(deadline);
      socket.close();
      if (error) reject(error);
      else resolve();
    };
    socket.on('message', (message) => {
      if (message.length >= 20 && message.readUInt16BE(0) === 0x0101 && message.subarray(8, 20).equals(transactionId))
        finish();
    });
    // ICMP port unreachable shows up as an error on a connected UDP socket; just keep trying.
    socket.on('error', () => {});
    const send = (): void => socket.send(request, port, ip, () => {});
    const resend = setInterval(send, 100);
    const deadline = setTimeout(() => finish(new Error(`no STUN answer within ${timeoutMs} ms`)), timeoutMs);
    send();
  });
}
