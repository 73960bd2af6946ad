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
  /**
   * Relay to loopback peers. Default: only when `ip` is loopback (both browsers of a call on one
   * machine relay to 127.0.0.1); a server others can reach must never.
   */
  readonly allowLoopbackPeers?: boolean;
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
  /** The coturn configuration file it runs with (see {@link coturnConfig}). */
  readonly config: string;
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

/**
 * Peer addresses a TURN server must not relay to, as coturn `denied-peer-ip` ranges: otherwise
 * anyone holding credentials can reach hosts on the TURN server's private networks through it.
 * Loopback is listed apart ({@link LOOPBACK_PEER_RANGES}): see {@link coturnConfig}.
 */
export const PRIVATE_PEER_RANGES: readonly { readonly range: string; readonly why: string }[] = [
  { range: '0.0.0.0-0.255.255.255', why: '"this network" (RFC 1122)' },
  { range: '10.0.0.0-10.255.255.255', why: 'private (RFC 1918)' },
  { range: '100.64.0.0-100.127.255.255', why: 'carrier-grade NAT (RFC 6598)' },
  { range: '169.254.0.0-169.254.255.255', why: 'link-local, cloud metadata services' },
  { range: '172.16.0.0-172.31.255.255', why: 'private (RFC 1918)' },
  { range: '192.0.0.0-192.0.0.255', why: 'IETF protocol assignments' },
  { range: '192.168.0.0-192.168.255.255', why: 'private (RFC 1918)' },
  { range: '198.18.0.0-198.19.255.255', why: 'benchmarking' },
  { range: '240.0.0.0-255.255.255.255', why: 'reserved, broadcast' },
  { range: '::ffff:0.0.0.0-::ffff:255.255.255.255', why: 'IPv4-mapped IPv6: would reach every IPv4 range' },
  { range: '64:ff9b::-64:ff9b::ffff:ffff', why: 'NAT64: would reach the IPv4 ranges above' },
  { range: 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', why: 'unique local fc00::/7' },
  { range: 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', why: 'link-local fe80::/10' },
];

/** Loopback peers: the TURN server's own host. Denied unless the server itself is loopback-only. */
export const LOOPBACK_PEER_RANGES: readonly { readonly range: string; readonly why: string }[] = [
  { range: '127.0.0.0-127.255.255.255', why: 'loopback: services on the TURN host itself' },
  { range: '::1', why: 'loopback: services on the TURN host itself' },
];

/** Whether `ip` is a loopback address, so that only processes on this host can reach it. */
export function isLoopbackAddress(ip: string): boolean {
  return ip === '::1' || ip === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(ip);
}

/**
 * The coturn configuration file of the development server (one `key=value` or flag per line).
 * Private ranges are always denied as peers. Loopback peers are allowed only when coturn listens
 * on loopback (both browsers of a call on one machine relay to 127.0.0.1, and only local
 * processes can use such a server); on any other address they are denied, as a public server
 * must (docs/security.md, "TURN credentials").
 */
export function coturnConfig(settings: {
  readonly ip: string;
  readonly port: number;
  readonly secret: string;
  readonly realm: string;
  readonly relayPorts: { readonly min: number; readonly max: number };
  readonly workDir: string;
  /** Relay to loopback peers; default: only when the server itself listens on loopback. */
  readonly allowLoopbackPeers?: boolean;
}): string {
  const loopbackOnly = settings.allowLoopbackPeers ?? isLoopbackAddress(settings.ip);
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
    // coturn 4.6 refuses allow-loopback-peers unless the telnet CLI is off; off is right anyway.
    'no-cli',
    ...(loopbackOnly ? ['allow-loopback-peers'] : LOOPBACK_PEER_RANGES.map(({ range }) => `denied-peer-ip=${range}`)),
    'no-multicast-peers',
    ...PRIVATE_PEER_RANGES.map(({ range }) => `denied-peer-ip=${range}`),
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

/**
 * A coturn configuration for a public TURN server, to copy to /etc/turnserver.conf and edit
 * where it says CHANGE (`parley turn --print-config`; docs/deployment.md explains each part).
 * Every private and loopback range is denied as a peer.
 */
export function productionCoturnConfig(settings: { readonly secret: string }): string {
  const denied = (ranges: typeof PRIVATE_PEER_RANGES) =>
    ranges.flatMap(({ range, why }) => [`# ${why}`, `denied-peer-ip=${range}`]);
  return [
    '# coturn configuration for a public TURN server used by Parley (parley turn --print-config).',
    '# Keep comments on lines of their own: coturn does not strip them after a value.',
    '# --- identity: CHANGE to your TURN host name and public address ----------------',
    'realm=turn.example.com',
    'server-name=turn.example.com',
    '# behind 1:1 NAT (cloud VMs) give public/private: external-ip=203.0.113.10/10.0.0.5',
    'external-ip=203.0.113.10',
    '',
    '# --- listeners: turn: on 3478 (UDP and TCP), turns: (TLS) on 5349 --------------',
    'listening-port=3478',
    'tls-listening-port=5349',
    '# 443 gets through the strictest firewalls, if nothing else listens on it on this address:',
    '# alt-tls-listening-port=443',
    'cert=/etc/letsencrypt/live/turn.example.com/fullchain.pem',
    'pkey=/etc/letsencrypt/live/turn.example.com/privkey.pem',
    'no-tlsv1',
    'no-tlsv1_1',
    'no-dtls',
    '',
    '# --- relay ports: open exactly these (UDP) in the firewall ----------------------',
    'min-port=49160',
    '# one port per relayed browser (allocation): 41 here; size it to your load',
    'max-port=49200',
    '',
    '# --- authentication: the same secret as parley serve --turn-secret --------------',
    'use-auth-secret',
    '# long and random, e.g. openssl rand -base64 32',
    `static-auth-secret=${settings.secret}`,
    'fingerprint',
    '',
    "# --- don't be a proxy into private networks or into this host ------------------",
    '# Never allow-loopback-peers here: it would relay to services listening on this host.',
    'no-cli',
    'no-multicast-peers',
    ...denied(LOOPBACK_PEER_RANGES),
    ...denied(PRIVATE_PEER_RANGES),
    '# A TURN server that must reach peers in its own private network allows that range back',
    '# with allowed-peer-ip=... (allowed wins over denied).',
    '',
    '# --- limits and logs -----------------------------------------------------------',
    'total-quota=300',
    'user-quota=12',
    'stale-nonce=600',
    'log-file=syslog',
    'simple-log',
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
  const config = coturnConfig({
    ip,
    port,
    secret,
    realm,
    relayPorts,
    workDir,
    allowLoopbackPeers: options.allowLoopbackPeers,
  });
  writeFileSync(configPath, config, { mode: 0o600 });

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
    config,
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
