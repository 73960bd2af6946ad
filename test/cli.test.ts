/**
 * The `parley` binary: its flags and environment, and the real process: start-up report,
 * /healthz, clean exit on SIGINT and SIGTERM, refusal to run on the slow uWebSockets.js fallback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HELP, parseServeConfig } from '../src/signaling/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/parley.js', import.meta.url));

describe('parley serve options', () => {
  it('has the documented defaults', () => {
    const config = parseServeConfig([], {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9999,
      corsOrigins: [],
      turn: { turnUrls: [], turnSecret: undefined, turnTtl: 86_400, stunUrls: [] },
      engine: { pingInterval: 25_000, pingTimeout: 20_000, maxPayload: 1_000_000 },
    });
  });

  it('reads every flag, repeatable ones repeated', () => {
    const config = parseServeConfig(
      [
        '--port',
        '1234',
        '--host',
        '::1',
        '--cors-origin',
        'https://a.example',
        '--cors-origin',
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
        '--static',
        root,
      ],
      {},
    );
    expect(config).toEqual({
      host: '::1',
      port: 1234,
      corsOrigins: ['https://a.example', 'https://b.example'],
      staticDir: root,
      turn: { turnUrls: ['turn:t1', 'turns:t2'], turnSecret: 's', turnTtl: 600, stunUrls: ['stun:s1'] },
      engine: { pingInterval: 1000, pingTimeout: 500, maxPayload: 4096 },
    });
  });

  it('reads the same from PARLEY_* variables, and flags win', () => {
    const env = {
      PARLEY_PORT: '4321',
      PARLEY_HOST: '0.0.0.0',
      PARLEY_CORS_ORIGIN: '*',
      PARLEY_TURN_URL: 'turn:t1, turn:t2',
      PARLEY_TURN_SECRET: 'env-secret',
      PARLEY_TURN_TTL: '120',
      PARLEY_STUN_URL: 'stun:s1',
      PARLEY_PING_INTERVAL: '2000',
      PARLEY_PING_TIMEOUT: '1000',
      PARLEY_MAX_PAYLOAD: '2048',
    };
    const config = parseServeConfig([], env);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 4321,
      corsOrigins: '*',
      turn: { turnUrls: ['turn:t1', 'turn:t2'], turnSecret: 'env-secret', turnTtl: 120, stunUrls: ['stun:s1'] },
      engine: { pingInterval: 2000, pingTimeout: 1000, maxPayload: 2048 },
    });
    expect(parseServeConfig(['--port', '1'], env).port).toBe(1);
  });

  it('refuses nonsense with a message saying what is wrong', () => {
    expect(() => parseServeConfig(['--port', 'abc'], {})).toThrow(/--port must be a whole number/);
    expect(() => parseServeConfig(['--port', '70000'], {})).toThrow(/from 0 to 65535/);
    expect(() => parseServeConfig(['--turn-url', 'turn:x'], {})).toThrow(/--turn-url needs --turn-secret/);
    expect(() => parseServeConfig(['--static', '/no/such/dir'], {})).toThrow(/no such directory/);
    expect(() => parseServeConfig(['--bogus'], {})).toThrow(/bogus/);
  });

  it('documents every flag and its variable in --help', () => {
    for (const flag of [
      '--port',
      '--host',
      '--cors-origin',
      '--static',
      '--turn-url',
      '--turn-secret',
      '--turn-ttl',
      '--stun-url',
    ]) {
      expect(HELP).toContain(flag);
      expect(HELP).toContain(`PARLEY_${flag.slice(2).toUpperCase().replaceAll('-', '_')}`);
    }
    expect(HELP).toMatch(/healthz/);
    expect(HELP).toMatch(/SIGINT and SIGTERM/);
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
        const match = /listening on (http:\/\/\S+)/.exec(output);
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
      expect(output()).toMatch(new RegExp(`${signal}, closing all sessions`));
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

  it('prints help and exits 0 with --help', () => {
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toBe(HELP);
  });
});
