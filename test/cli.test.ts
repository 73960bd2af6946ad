/**
 * The `parley` binary: its flags and environment, and the real process: start-up report,
 * /healthz, clean exit on SIGINT and SIGTERM, refusal to run on the slow uWebSockets.js fallback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HELP, parseServeCommand, parseServeConfig, parseTurnOptions } from '../src/signaling/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/parley.js', import.meta.url));

describe('parley serve options', () => {
  it('has the documented defaults', () => {
    const config = parseServeConfig([], {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9999,
      allowedOrigins: [],
      turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3_600, stunUrls: [] },
      turnRate: { perMinute: 10, burst: 10 },
      engine: {
        pingInterval: 25_000,
        pingTimeout: 20_000,
        maxPayload: 1_000_000,
        maxBufferedBytes: 1_048_576,
        maxConnectionsPerAddress: 100,
        maxSessionsPerAddress: 100,
        handshakeRate: 20,
        messageRate: 50,
        maxConcurrentBodies: 256,
      },
    });
  });

  it('reads every flag, repeatable ones repeated', () => {
    const config = parseServeConfig(
      [
        '--port',
        '1234',
        '--host',
        '::1',
        '--allowed-origin',
        'https://a.example',
        '--allowed-origin',
        'https://b.example',
        '--turn-url',
        'turn:t1',
        '--turn-url',
        'turns:t2',
        '--turn-secret',
        's',
        '--turn-ttl',
        '600',
        '--stun-url',
        'stun:s1',
        '--ping-interval',
        '1000',
        '--ping-timeout',
        '500',
        '--max-payload',
        '4096',
        '--turn-rate',
        '30',
        '--max-buffered-bytes',
        '65536',
        '--max-connections-per-address',
        '7',
        '--max-sessions-per-address',
        '6',
        '--handshake-rate',
        '5',
        '--message-rate',
        '4',
        '--max-concurrent-bodies',
        '3',
        '--trusted-proxy',
        '127.0.0.1',
        '--trusted-proxy',
        '::1',
        '--cert',
        `${root}/package.json`,
        '--key',
        `${root}/README.md`,
        '--metrics',
        'off',
        '--metrics-token',
        'tok',
        '--static',
        root,
      ],
      {},
    );
    expect(config).toEqual({
      host: '::1',
      port: 1234,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      staticDir: root,
      turn: { turnUrls: ['turn:t1', 'turns:t2'], turnSecret: 's', turnTtl: 600, stunUrls: ['stun:s1'] },
      turnRate: { perMinute: 30, burst: 30 },
      engine: {
        pingInterval: 1000,
        pingTimeout: 500,
        maxPayload: 4096,
        maxBufferedBytes: 65_536,
        maxConnectionsPerAddress: 7,
        maxSessionsPerAddress: 6,
        handshakeRate: 5,
        messageRate: 4,
        maxConcurrentBodies: 3,
        trustedProxies: ['127.0.0.1', '::1'],
      },
      tls: { certFile: `${root}/package.json`, keyFile: `${root}/README.md` },
      metrics: { enabled: false, token: 'tok' },
    });
  });

  it('reads the operations flags: drain timeout, log level, and refuses half a TLS setup', () => {
    expect(parseServeCommand([], {})).toMatchObject({ drainTimeoutMs: 10_000, logLevel: 'info' });
    expect(parseServeCommand(['--drain-timeout', '3', '--log-level', 'warn'], {})).toMatchObject({
      drainTimeoutMs: 3_000,
      logLevel: 'warn',
    });
    expect(parseServeCommand([], { PARLEY_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => parseServeCommand(['--cert', `${root}/package.json`], {})).toThrow(/--cert and --key go together/);
    expect(() => parseServeCommand(['--cert', '/nope.pem', '--key', '/nope.key'], {})).toThrow(/no such file/);
    expect(() => parseServeCommand(['--log-level', 'loud'], {})).toThrow(/--log-level must be one of/);
    expect(() => parseServeCommand(['--metrics', 'maybe'], {})).toThrow(/--metrics must be on or off/);
  });

  it('takes --cors-origin as a deprecated alias of --allowed-origin, with a warning', () => {
    const both = parseServeCommand(['--allowed-origin', 'https://a.example', '--cors-origin', 'https://b.example'], {});
    expect(both.config.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(both.warnings).toEqual([expect.stringMatching(/--cors-origin .*deprecated.*--allowed-origin/)]);
    expect(parseServeCommand([], { PARLEY_CORS_ORIGIN: '*' }).config.allowedOrigins).toBe('*');
    expect(parseServeCommand(['--allowed-origin', 'https://a.example'], {}).warnings).toEqual([]);
  });

  it('reads the same from PARLEY_* variables, and flags win', () => {
    const env = {
      PARLEY_PORT: '4321',
      PARLEY_HOST: '0.0.0.0',
      PARLEY_ALLOWED_ORIGIN: '*',
      PARLEY_TURN_URL: 'turn:t1, turn:t2',
      PARLEY_TURN_SECRET: 'env-secret',
      PARLEY_TURN_TTL: '120',
      PARLEY_STUN_URL: 'stun:s1',
      PARLEY_PING_INTERVAL: '2000',
      PARLEY_PING_TIMEOUT: '1000',
      PARLEY_MAX_PAYLOAD: '2048',
      PARLEY_TURN_RATE: '60',
      PARLEY_MAX_BUFFERED_BYTES: '4096',
      PARLEY_MAX_CONNECTIONS_PER_ADDRESS: '17',
      PARLEY_MAX_SESSIONS_PER_ADDRESS: '16',
      PARLEY_HANDSHAKE_RATE: '15',
      PARLEY_MESSAGE_RATE: '14',
      PARLEY_MAX_CONCURRENT_BODIES: '13',
    };
    const config = parseServeConfig([], env);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 4321,
      allowedOrigins: '*',
      turn: { turnUrls: ['turn:t1', 'turn:t2'], turnSecret: 'env-secret', turnTtl: 120, stunUrls: ['stun:s1'] },
      turnRate: { perMinute: 60, burst: 60 },
      engine: {
        pingInterval: 2000,
        pingTimeout: 1000,
        maxPayload: 2048,
        maxBufferedBytes: 4096,
        maxConnectionsPerAddress: 17,
        maxSessionsPerAddress: 16,
        handshakeRate: 15,
        messageRate: 14,
        maxConcurrentBodies: 13,
      },
    });
    expect(parseServeConfig(['--port', '1'], env).port).toBe(1);
  });

  it('refuses nonsense with a message saying what is wrong', () => {
    expect(() => parseServeConfig(['--port', 'abc'], {})).toThrow(/--port must be a whole number/);
    expect(() => parseServeConfig(['--port', '70000'], {})).toThrow(/from 0 to 65535/);
    expect(() => parseServeConfig(['--turn-url', 'turn:x'], {})).toThrow(/--turn-url needs --turn-secret/);
    expect(() => parseServeConfig(['--static', '/no/such/dir'], {})).toThrow(/no such directory/);
    expect(() => parseServeConfig(['--bogus'], {})).toThrow(/bogus/);
    expect(() => parseServeConfig(['--turn-rate', '0'], {})).toThrow(/--turn-rate must be a whole number from 1/);
    expect(() => parseServeConfig(['--message-rate', '1.5'], {})).toThrow(/--message-rate must be a whole number/);
    expect(() => parseServeConfig([], { PARLEY_MAX_BUFFERED_BYTES: 'lots' })).toThrow(/--max-buffered-bytes/);
  });

  it('documents every flag and its variable in --help', () => {
    for (const flag of [
      '--port',
      '--host',
      '--allowed-origin',
      '--cors-origin',
      '--static',
      '--turn-url',
      '--turn-secret',
      '--turn-ttl',
      '--turn-rate',
      '--stun-url',
      '--ping-interval',
      '--ping-timeout',
      '--max-payload',
      '--max-buffered-bytes',
      '--max-connections-per-address',
      '--max-sessions-per-address',
      '--handshake-rate',
      '--message-rate',
      '--max-concurrent-bodies',
      '--trusted-proxy',
      '--cert',
      '--key',
      '--metrics',
      '--metrics-token',
      '--inspect',
      '--inspect-token',
      '--drain-timeout',
      '--log-level',
    ]) {
      expect(HELP).toContain(flag);
      expect(HELP).toContain(`PARLEY_${flag.slice(2).toUpperCase().replaceAll('-', '_')}`);
    }
    // Each default is shown next to its variable.
    for (const [variable, fallback] of [
      ['PARLEY_TURN_TTL', 3600],
      ['PARLEY_TURN_RATE', 10],
      ['PARLEY_MAX_BUFFERED_BYTES', 1_048_576],
      ['PARLEY_MAX_CONNECTIONS_PER_ADDRESS', 100],
      ['PARLEY_MAX_SESSIONS_PER_ADDRESS', 100],
      ['PARLEY_HANDSHAKE_RATE', 20],
      ['PARLEY_MESSAGE_RATE', 50],
      ['PARLEY_MAX_CONCURRENT_BODIES', 256],
    ] as const) {
      expect(HELP).toContain(`[${variable}]  (${fallback})`);
    }
    expect(HELP).toContain('--print-config');
    expect(HELP).toMatch(/healthz/);
    expect(HELP).toMatch(/SIGTERM and SIGINT drain/);
    expect(HELP).toMatch(/--version/);
  });
});

describe('parley turn options', () => {
  it('runs coturn by default, or only prints a production configuration with --print-config', () => {
    expect(parseTurnOptions([])).toEqual({ port: 3478, secret: undefined, printConfig: false });
    expect(parseTurnOptions(['--print-config', '--secret', 's'])).toEqual({
      port: 3478,
      secret: 's',
      printConfig: true,
    });
  });
});

describe('the parley process', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  /** Starts `parley serve --port 0` and resolves with the URL it prints. */
  function serve(env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; url: Promise<string> } {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
      env: { ...process.env, ...env },
      stdio: 'pipe',
    });
    let output = '';
    const url = new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += String(chunk);
        const match = /listening on (https?:\/\/[^\s"]+)/.exec(output);
        if (match) resolve(match[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
    return { child, output: () => output, url };
  }
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'reports native uWebSockets.js, serves /healthz and exits cleanly on %s',
    async (signal) => {
      const { child, output, url } = serve();
      const base = await url;
      expect(output()).toMatch(/uWebSockets\.js: native/);
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', uwsNative: true, sessions: 0, rooms: 0 });
      const exit = exited(child);
      child.kill(signal);
      expect(await exit).toBe(0);
      expect(output()).toMatch(new RegExp(`${signal}: draining`));
    },
  );

  it('refuses to start, loudly, on the JavaScript fallback of uWebSockets.js', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
      env: { ...process.env, UWS_USE_FALLBACK: '1' },
      stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    expect(await exited(child)).toBe(1);
    expect(stderr).toMatch(/NOT NATIVE/);
  });

  it('prints a production coturn configuration with turn --print-config, with a fresh secret, and runs nothing', () => {
    const printed = execFileSync(process.execPath, [bin, 'turn', '--print-config'], { encoding: 'utf8' });
    expect(printed).toMatch(/^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255$/m);
    expect(printed).not.toMatch(/^allow-loopback-peers$/m);
    expect(printed).toMatch(/^static-auth-secret=[A-Za-z0-9_-]{43}$/m);
  });

  it('prints help and exits 0 with --help', () => {
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toBe(HELP);
  });
});
