/**
 * The development TURN server (src/signaling/turn-server.ts): real coturn on loopback, checked by
 * a minimal TURN client over UDP (RFC 5766 Allocate with RFC 5389 long-term credentials) using
 * the TURN REST credentials Parley issues. Also `parley turn` and `parley serve --turn` as
 * processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import {
  coturnConfig,
  productionCoturnConfig,
  startTurnServer,
  type RunningTurnServer,
} from '../src/signaling/turn-server.js';
import { issueIceServers, turnPassword } from '../src/signaling/turn-credentials.js';
import type { IceServersPayload } from '../src/protocol/signaling-events.js';

const MAGIC_COOKIE = 0x2112a442;
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  realm: 0x0014,
  xorPeerAddress: 0x0012,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;

interface StunMessage {
  readonly type: number;
  readonly attributes: Map<number, Buffer>;
}

/** Encodes a STUN request; with `key`, appends MESSAGE-INTEGRITY (RFC 5389 section 15.4). */
function encodeStun(type: number, transactionId: Buffer, attributes: [number, Buffer][], key?: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const [attrType, value] of attributes) {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attrType, 0);
    header.writeUInt16BE(value.length, 2);
    parts.push(header, value, Buffer.alloc((4 - (value.length % 4)) % 4));
  }
  let body = Buffer.concat(parts);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  if (key !== undefined) {
    // The length covers the MESSAGE-INTEGRITY attribute while the HMAC is computed.
    header.writeUInt16BE(body.length + 24, 2);
    const hmac = createHmac('sha1', key)
      .update(Buffer.concat([header, body]))
      .digest();
    const attrHeader = Buffer.alloc(4);
    attrHeader.writeUInt16BE(ATTR.messageIntegrity, 0);
    attrHeader.writeUInt16BE(20, 2);
    body = Buffer.concat([body, attrHeader, hmac]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function decodeStun(message: Buffer): StunMessage {
  const attributes = new Map<number, Buffer>();
  let offset = 20;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    attributes.set(type, message.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: message.readUInt16BE(0), attributes };
}

/**
 * Sends one request from `socket` and resolves with the response to it (resending on loss). A
 * TURN allocation belongs to the client's 5-tuple, so both steps of an Allocate share a socket.
 */
function request(
  socket: Socket,
  port: number,
  build: (transactionId: Buffer) => Buffer,
  host = '127.0.0.1',
): Promise<StunMessage> {
  const transactionId = randomBytes(12);
  const packet = build(transactionId);
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer): void => {
      if (data.length >= 20 && data.subarray(8, 20).equals(transactionId)) done(undefined, decodeStun(data));
    };
    const done = (error: Error | undefined, message?: StunMessage): void => {
      clearInterval(resend);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      if (error) reject(error);
      else resolve(message!);
    };
    socket.on('message', onMessage);
    const send = (): void => socket.send(packet, port, host);
    const resend = setInterval(send, 500);
    const deadline = setTimeout(() => done(new Error('no TURN response within 10 s')), 10_000);
    send();
  });
}

const UDP_TRANSPORT = Buffer.from([17, 0, 0, 0]);

/** Result of a TURN Allocate with long-term credentials. */
type AllocateResult =
  | { readonly ok: true; readonly relayed: { address: string; port: number }; readonly realm: string }
  | { readonly ok: false; readonly errorCode: number; readonly realm: string };

/** Allocate: unauthenticated first (expecting 401 with realm and nonce), then with credentials. */
async function allocate(port: number, username: string, password: string): Promise<AllocateResult> {
  const socket = createSocket('udp4');
  try {
    return await allocateFrom(socket, port, username, password);
  } finally {
    socket.close();
  }
}

async function allocateFrom(socket: Socket, port: number, username: string, password: string): Promise<AllocateResult> {
  const challenge = await request(socket, port, (id) =>
    encodeStun(0x0003, id, [[ATTR.requestedTransport, UDP_TRANSPORT]]),
  );
  expect(challenge.type).toBe(0x0113); // Allocate error response
  expect(errorCodeOf(challenge)).toBe(401);
  const realm = String(challenge.attributes.get(ATTR.realm));
  const nonce = challenge.attributes.get(ATTR.nonce);
  expect(nonce).toBeDefined();

  const key = createHash('md5').update(`${username}:${realm}:${password}`).digest();
  const response = await request(socket, port, (id) =>
    encodeStun(
      0x0003,
      id,
      [
        [ATTR.requestedTransport, UDP_TRANSPORT],
        [ATTR.username, Buffer.from(username)],
        [ATTR.realm, Buffer.from(realm)],
        [ATTR.nonce, nonce!],
      ],
      key,
    ),
  );
  if (response.type !== 0x0103) return { ok: false, errorCode: errorCodeOf(response), realm };
  const relayed = response.attributes.get(ATTR.xorRelayedAddress)!;
  const relayedPort = relayed.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const address = (relayed.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return {
    ok: true,
    relayed: { address: [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join('.'), port: relayedPort },
    realm,
  };
}

/**
 * Allocates on the TURN server at `host`:`port`, then asks for a permission to send to
 * `peer` (RFC 5766 section 9, CreatePermission). Resolves with 0 if granted, else the error code
 * (403 for a peer address the server denies).
 */
async function permission(
  port: number,
  username: string,
  password: string,
  peer: string,
  host = '127.0.0.1',
): Promise<number> {
  const socket = createSocket('udp4');
  try {
    const challenge = await request(
      socket,
      port,
      (id) => encodeStun(0x0003, id, [[ATTR.requestedTransport, UDP_TRANSPORT]]),
      host,
    );
    const realm = challenge.attributes.get(ATTR.realm)!;
    const nonce = challenge.attributes.get(ATTR.nonce)!;
    const key = createHash('md5')
      .update(`${username}:${String(realm)}:${password}`)
      .digest();
    const credentials: [number, Buffer][] = [
      [ATTR.username, Buffer.from(username)],
      [ATTR.realm, realm],
      [ATTR.nonce, nonce],
    ];
    const allocated = await request(
      socket,
      port,
      (id) => encodeStun(0x0003, id, [[ATTR.requestedTransport, UDP_TRANSPORT], ...credentials], key),
      host,
    );
    expect(allocated.type).toBe(0x0103);
    const peerAddress = Buffer.alloc(8);
    peerAddress.writeUInt8(0x01, 1); // IPv4
    peerAddress.writeUInt16BE(9 ^ (MAGIC_COOKIE >>> 16), 2);
    const octets = peer.split('.').map(Number);
    peerAddress.writeUInt32BE(
      (((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) ^ MAGIC_COOKIE) >>> 0,
      4,
    );
    const response = await request(
      socket,
      port,
      (id) => encodeStun(0x0008, id, [[ATTR.xorPeerAddress, peerAddress], ...credentials], key),
      host,
    );
    return response.type === 0x0108 ? 0 : errorCodeOf(response);
  } finally {
    socket.close();
  }
}

function errorCodeOf(message: StunMessage): number {
  const value = message.attributes.get(ATTR.errorCode);
  return value === undefined ? 0 : value[2] * 100 + value[3];
}

describe('the coturn configuration', () => {
  it('binds to loopback, checks REST credentials and allows loopback peers only with no-cli', () => {
    const config = coturnConfig({
      ip: '127.0.0.1',
      port: 3478,
      secret: 'S',
      realm: 'parley.local',
      relayPorts: { min: 20000, max: 20099 },
      workDir: '/tmp/x',
    }).split('\n');
    for (const line of [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      'listening-port=3478',
      'min-port=20000',
      'max-port=20099',
      'use-auth-secret',
      'static-auth-secret=S',
      'realm=parley.local',
      'no-cli',
      'allow-loopback-peers',
      'no-tls',
      'no-dtls',
      'fingerprint',
      'log-file=stdout',
    ]) {
      expect(config).toContain(line);
    }
  });

  it('always denies private ranges as peers, and loopback too unless coturn itself is on loopback', () => {
    const settings = {
      port: 3478,
      secret: 'S',
      realm: 'parley.local',
      relayPorts: { min: 20000, max: 20099 },
      workDir: '/tmp/x',
    };
    const dev = coturnConfig({ ...settings, ip: '127.0.0.1' }).split('\n');
    const lan = coturnConfig({ ...settings, ip: '192.0.2.7' }).split('\n');
    for (const config of [dev, lan]) {
      for (const range of [
        '10.0.0.0-10.255.255.255',
        '172.16.0.0-172.31.255.255',
        '192.168.0.0-192.168.255.255',
        '100.64.0.0-100.127.255.255',
        '169.254.0.0-169.254.255.255',
        'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      ]) {
        expect(config).toContain(`denied-peer-ip=${range}`);
      }
    }
    expect(dev).toContain('allow-loopback-peers');
    expect(dev).not.toContain('denied-peer-ip=127.0.0.0-127.255.255.255');
    expect(lan).not.toContain('allow-loopback-peers');
    expect(lan).toContain('denied-peer-ip=127.0.0.0-127.255.255.255');
    expect(lan).toContain('denied-peer-ip=::1');
  });

  it('prints a production template that denies loopback and private peers and never allows loopback', () => {
    const config = productionCoturnConfig({ secret: 'prod-secret' }).split('\n');
    for (const line of [
      'use-auth-secret',
      'static-auth-secret=prod-secret',
      'no-cli',
      'no-multicast-peers',
      'denied-peer-ip=127.0.0.0-127.255.255.255',
      'denied-peer-ip=::1',
      'denied-peer-ip=10.0.0.0-10.255.255.255',
      'denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255',
    ]) {
      expect(config).toContain(line);
    }
    expect(config).not.toContain('allow-loopback-peers');
    // coturn does not strip a comment after a value: every comment is a line of its own.
    expect(config.filter((line) => !line.startsWith('#') && line.includes('#'))).toEqual([]);
  });

  it('is the configuration docs/deployment.md shows', () => {
    const deployment = readFileSync(fileURLToPath(new URL('../docs/deployment.md', import.meta.url)), 'utf8');
    expect(deployment).toContain(
      `\`\`\`ini\n${productionCoturnConfig({ secret: 'CHANGE-ME-long-random-string' })}\`\`\``,
    );
  });
});

describe('the development TURN server', () => {
  let turn: RunningTurnServer;
  beforeAll(async () => {
    turn = await startTurnServer({ secret: 'test-secret' });
  });
  afterAll(async () => {
    await turn?.stop();
  });

  it('listens on loopback on a free port and names its URLs', () => {
    expect(turn.port).toBeGreaterThan(0);
    expect(turn.turnUrls).toEqual([
      `turn:127.0.0.1:${turn.port}?transport=udp`,
      `turn:127.0.0.1:${turn.port}?transport=tcp`,
    ]);
  });

  it('challenges an Allocate with 401, realm and nonce, then relays with the credentials Parley issues', async () => {
    const { iceServers } = issueIceServers(
      { turnUrls: turn.turnUrls, turnSecret: turn.secret, turnTtl: 600, stunUrls: [] },
      'client-1',
    );
    const { username, credential } = iceServers[0];
    const result = await allocate(turn.port, username!, credential!);
    expect(result).toMatchObject({ ok: true, realm: 'parley.local' });
    if (!result.ok) return;
    expect(result.relayed.address).toBe('127.0.0.1');
    expect(result.relayed.port).toBeGreaterThanOrEqual(turn.relayPorts.min);
    expect(result.relayed.port).toBeLessThanOrEqual(turn.relayPorts.max);
  });

  it('refuses credentials made with another secret, and expired ones', async () => {
    const username = `${Math.floor(Date.now() / 1000) + 600}:intruder`;
    expect(await allocate(turn.port, username, turnPassword('wrong-secret', username))).toMatchObject({
      ok: false,
      errorCode: 401,
    });
    const expired = `${Math.floor(Date.now() / 1000) - 60}:late`;
    expect(await allocate(turn.port, expired, turnPassword(turn.secret, expired))).toMatchObject({
      ok: false,
      errorCode: 401,
    });
  });

  it('relays to loopback peers, but refuses permissions for private-range peers with 403', async () => {
    const { iceServers } = issueIceServers(
      { turnUrls: turn.turnUrls, turnSecret: turn.secret, turnTtl: 600, stunUrls: [] },
      'client-2',
    );
    const { username, credential } = iceServers[0];
    expect(await permission(turn.port, username!, credential!, '127.0.0.1')).toBe(0);
    for (const peer of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.169.254']) {
      expect(await permission(turn.port, username!, credential!, peer)).toBe(403);
    }
  });

  it('denies loopback peers when configured as a server others can reach would be', async () => {
    // On loopback (network tests stay there), with the configuration an exposed server gets.
    const exposed = await startTurnServer({ secret: 'exposed-secret', allowLoopbackPeers: false });
    try {
      const username = `${Math.floor(Date.now() / 1000) + 600}:probe`;
      const password = turnPassword('exposed-secret', username);
      expect(await permission(exposed.port, username, password, '127.0.0.1')).toBe(403);
      expect(await permission(exposed.port, username, password, '10.1.2.3')).toBe(403);
    } finally {
      await exposed.stop();
    }
  });

  it('stops: the process exits', async () => {
    const other = await startTurnServer();
    await other.stop();
    expect(await other.exited).not.toBeUndefined();
    expect(() => process.kill(other.pid, 0)).toThrow();
  });
});

describe('the parley turn and parley serve --turn commands', () => {
  const cli = fileURLToPath(new URL('../src/signaling/cli.ts', import.meta.url));

  /** Runs the CLI from source (tsx) and collects its output. */
  function runCli(args: string[]): {
    child: ChildProcess;
    output: () => string;
    waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  } {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import(${JSON.stringify(cli)}).then(({ main }) => main(process.argv.slice(1))).then((code) => { process.exitCode = code; });`,
        ...args,
      ],
      { stdio: 'pipe' },
    );
    let output = '';
    const waiters = new Set<() => void>();
    const onData = (chunk: Buffer): void => {
      output += String(chunk);
      for (const wake of [...waiters]) wake();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const waitFor = (pattern: RegExp): Promise<RegExpMatchArray> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`)),
          30_000,
        );
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(match);
        };
        waiters.add(check);
        child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`)));
        check();
      });
    return { child, output: () => output, waitFor };
  }
  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
    );

  it('parley turn runs coturn, prints the matching parley serve line, and stops on SIGTERM', async () => {
    const { child, waitFor } = runCli(['turn', '--port', '0', '--secret', 'cli-secret']);
    try {
      const [, port] = await waitFor(/listening on 127\.0\.0\.1:(\d+)/);
      await waitFor(
        /parley serve --turn-url 'turn:127\.0\.0\.1:\d+\?transport=udp' --turn-url 'turn:127\.0\.0\.1:\d+\?transport=tcp' --turn-secret 'cli-secret'/,
      );
      const username = `${Math.floor(Date.now() / 1000) + 600}:cli`;
      expect(await allocate(Number(port), username, turnPassword('cli-secret', username))).toMatchObject({ ok: true });
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('parley serve --turn starts coturn and issues credentials that coturn accepts', async () => {
    const { child, waitFor } = runCli(['serve', '--port', '0', '--turn']);
    try {
      const [, url] = await waitFor(/listening on (https?:\/\/[^\s"]+)/);
      const socket = io(url, {
        transports: ['websocket'],
        auth: { room: 'turn-check' },
        reconnection: false,
        forceNew: true,
      });
      const payload = await new Promise<IceServersPayload>((resolve) => socket.once('ice-servers', resolve));
      socket.disconnect();
      const turnServer = payload.iceServers.find((server) => [server.urls].flat().some((u) => u.startsWith('turn:')));
      expect(turnServer).toBeDefined();
      const turnUrl = [turnServer!.urls].flat().find((u) => u.includes('transport=udp'))!;
      const port = Number(/:(\d+)\?/.exec(turnUrl)![1]);
      expect(await allocate(port, turnServer!.username!, turnServer!.credential!)).toMatchObject({ ok: true });
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
      // coturn went with it: its port is free again.
      const probe = createSocket('udp4');
      await expect(
        new Promise<void>((resolve, reject) => {
          probe.once('error', reject);
          probe.bind(port, '127.0.0.1', () => resolve());
        }),
      ).resolves.toBeUndefined();
      probe.close();
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
