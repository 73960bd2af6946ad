/**
 * Who may watch the inspector: the decision (no token on loopback, a token elsewhere, given or
 * generated), and the token enforced on the stream's upgrade and on the page alike (401 and no
 * data without it or with a wrong one), on a real server: on a non-loopback address of this
 * machine when it has one, and on 127.0.0.1 told to act as public, and with a token given.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveInspectorAccess } from '../src/signaling/inspector/inspector-access.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { parseServeCommand } from '../src/signaling/cli.js';
import { connectClient, startTestServer } from './helpers/parley.js';
import { connectViewer, upgradeStatus } from './helpers/inspection-stream.js';

const servers: RunningParleyServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serverWith(overrides: Parameters<typeof startTestServer>[0]): Promise<RunningParleyServer> {
  const server = await startTestServer(overrides);
  servers.push(server);
  return server;
}

async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

/** Checks that `server` refuses viewers without `token` or with a wrong one, and takes `token`. */
async function expectTokenEnforced(server: RunningParleyServer, token: string): Promise<void> {
  const events = server.url.replace(/^http/, 'ws') + '/inspector/events';
  expect(await upgradeStatus(events)).toBe(401);
  expect(await upgradeStatus(`${events}?token=`)).toBe(401);
  expect(await upgradeStatus(`${events}?token=${encodeURIComponent(token.slice(0, -1))}`)).toBe(401);
  expect(await upgradeStatus(`${events}?token=${encodeURIComponent(token)}x`)).toBe(401);
  expect(await status(`${server.url}/inspector`)).toBe(401);
  expect(await status(`${server.url}/inspector?token=wrong`)).toBe(401);
  expect(await status(`${server.url}/inspector?token=${encodeURIComponent(token)}`)).toBe(200);
  expect(server.inspector!.hub.viewerCount).toBe(0);

  const viewer = await connectViewer(`${events}?token=${encodeURIComponent(token)}`);
  try {
    const client = await connectClient(server.url, { room: 'guarded' });
    await viewer.waitFor((all) => all.some((e) => e.sessionId === 'room:guarded'), 'the room');
    client.close();
  } finally {
    viewer.close();
  }
}

describe('the access decision', () => {
  it('needs no token on loopback, and a token anywhere else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      expect(isLoopbackHost(host)).toBe(true);
      expect(resolveInspectorAccess({ host })).toEqual({ token: undefined, generated: false });
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'parley.example.com']) {
      expect(isLoopbackHost(host)).toBe(false);
      const access = resolveInspectorAccess({ host });
      expect(access.generated).toBe(true);
      // 32 random bytes, base64url.
      expect(access.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(resolveInspectorAccess({ host }).token).not.toBe(access.token);
    }
  });

  it('takes the given token everywhere, loopback included, and treats loopback as public when told', () => {
    expect(resolveInspectorAccess({ host: '0.0.0.0', token: 'given' })).toEqual({ token: 'given', generated: false });
    expect(resolveInspectorAccess({ host: '127.0.0.1', token: 'given' })).toEqual({ token: 'given', generated: false });
    expect(resolveInspectorAccess({ host: '127.0.0.1', public: true }).generated).toBe(true);
  });

  it('is switched on by --inspect or PARLEY_INSPECT=1, with the token from --inspect-token or PARLEY_INSPECT_TOKEN', () => {
    expect(parseServeCommand([], {}).config.inspect).toBeUndefined();
    expect(parseServeCommand(['--inspect'], {}).config.inspect).toEqual({ token: undefined });
    expect(parseServeCommand([], { PARLEY_INSPECT: '1' }).config.inspect).toEqual({ token: undefined });
    expect(parseServeCommand(['--inspect', '--inspect-token', 't1'], {}).config.inspect).toEqual({ token: 't1' });
    expect(parseServeCommand([], { PARLEY_INSPECT: 'true', PARLEY_INSPECT_TOKEN: 't2' }).config.inspect).toEqual({
      token: 't2',
    });
    const tokenAlone = parseServeCommand(['--inspect-token', 't3'], {});
    expect(tokenAlone.config.inspect).toBeUndefined();
    expect(tokenAlone.warnings.join()).toMatch(/--inspect-token .* does nothing without --inspect/);
  });
});

describe('the token on a real server', () => {
  it('is required on loopback told to act as public, generated', async () => {
    const server = await serverWith({ inspect: { public: true } });
    expect(server.inspector!.access.generated).toBe(true);
    await expectTokenEnforced(server, server.inspector!.access.token!);
  });

  it('is required on 127.0.0.1 when given, and nothing is sent before it is checked', async () => {
    const server = await serverWith({ inspect: { token: 'a token/with+odd=chars' } });
    expect(server.inspector!.access).toEqual({ token: 'a token/with+odd=chars', generated: false });
    await expectTokenEnforced(server, 'a token/with+odd=chars');
  });

  it('is not needed on loopback by default', async () => {
    const server = await serverWith({ inspect: {} });
    expect(server.inspector!.eventsUrl).not.toContain('token');
    expect(await upgradeStatus(server.inspector!.eventsUrl)).toBe(101);
    expect(await status(`${server.url}/inspector`)).toBe(200);
  });

  it("refuses a page of another origin (a website the operator visits can't read the stream)", async () => {
    const server = await serverWith({ inspect: {} });
    expect(await upgradeStatus(server.inspector!.eventsUrl, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(server.inspector!.eventsUrl, { origin: 'http://localhost:5173' })).toBe(101);
  });
});
