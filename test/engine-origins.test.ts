/**
 * Which page origins may talk to the engine (`allowedOrigins`), on every door: the WebSocket
 * upgrade, the polling handshake, the POST and the CORS preflight. A request without Origin (not
 * a browser page), the server's own origin and loopback origins always pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoNamespace, startEngine, type TestEngine } from './helpers/engine-server.js';
import {
  delay,
  engineErrorBody,
  httpRequest,
  openRawWebSocket,
  pollingEngineUrl,
  RawPollingClient,
  webSocketEngineUrl,
  type HttpAnswer,
} from './helpers/raw-clients.js';

const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

let listed: TestEngine;
let listedNamespace: ReturnType<typeof echoNamespace>;
let open: TestEngine;
beforeAll(async () => {
  listedNamespace = echoNamespace();
  listed = await startEngine({ allowedOrigins: [ALLOWED] }, { '/': listedNamespace });
  open = await startEngine({ allowedOrigins: '*' }, { '/': echoNamespace() });
});
afterAll(() => {
  listed.stop();
  open.stop();
});

function handshake(test: TestEngine, headers: Record<string, string>): Promise<HttpAnswer> {
  return httpRequest(pollingEngineUrl(test.url), { headers });
}

function preflight(test: TestEngine, origin: string): Promise<HttpAnswer> {
  return httpRequest(pollingEngineUrl(test.url), {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

async function upgradeStatus(test: TestEngine, origin: string | undefined): Promise<number> {
  const attempt = await openRawWebSocket(webSocketEngineUrl(test.url), origin === undefined ? {} : { origin });
  if (!attempt.opened) return attempt.refusal.status;
  attempt.socket.ws.close();
  return 101;
}

describe('a disallowed origin gets 403 on every door', () => {
  it.each([
    ['another site', EVIL],
    ['the allowed host over another scheme', 'http://app.example.com'],
    ['a look-alike suffix', 'https://app.example.com.evil.example.net'],
    ['a look-alike of localhost', 'http://localhost.evil.example.net'],
    ['a look-alike of 127.0.0.1', 'http://127.0.0.1.evil.example.net'],
    ['an opaque origin', 'null'],
  ])('%s (%s): WebSocket upgrade, polling handshake and preflight', async (_what, origin) => {
    const sessionsBefore = listed.engine.sessionCount;
    expect(await upgradeStatus(listed, origin)).toBe(403);
    const answer = await handshake(listed, { origin });
    expect(answer.status).toBe(403);
    expect(engineErrorBody(answer)).toEqual({ code: expect.any(Number), message: expect.any(String) });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(listed, origin)).status).toBe(403);
    expect(listed.engine.sessionCount).toBe(sessionsBefore);
  });

  it('a POST from a disallowed origin gets 403 and its packets are not processed', async () => {
    const client = new RawPollingClient(listed.url);
    expect((await client.handshake()).status).toBe(200);
    expect((await client.post('40')).status).toBe(200);
    await client.get(); // the CONNECT acknowledgement
    const eventsBefore = listedNamespace.events.length;

    const answer = await httpRequest(pollingEngineUrl(listed.url, client.sid), {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' },
      body: '42["message","smuggled"]',
    });
    expect(answer.status).toBe(403);
    await delay(50);
    expect(listedNamespace.events.slice(eventsBefore)).toEqual([]);

    // The same session still works for its own page, and nothing was echoed for the smuggled event.
    expect((await client.post('42["message","legit"]')).status).toBe(200);
    const poll = await client.get();
    expect(poll.body).toContain('42["message-back","legit"]');
    expect(poll.body).not.toContain('smuggled');
  });
});

describe('what passes', () => {
  it('a request without Origin (not from a browser page)', async () => {
    expect(await upgradeStatus(listed, undefined)).toBe(101);
    const answer = await handshake(listed, {});
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('the server’s own origin: Origin equal to http://<Host>', async () => {
    const own = `http://127.0.0.1:${listed.port}`;
    expect(await upgradeStatus(listed, own)).toBe(101);
    expect((await handshake(listed, { origin: own })).status).toBe(200);
    // Behind a proxy the Host header names the public host.
    const proxied = await handshake(listed, { host: 'parley.example.org', origin: 'http://parley.example.org' });
    expect(proxied.status).toBe(200);
  });

  it.each(['http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000'])(
    'the loopback origin %s, by default, with CORS headers for it',
    async (origin) => {
      expect(await upgradeStatus(listed, origin)).toBe(101);
      const answer = await handshake(listed, { origin });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect((await preflight(listed, origin)).status).toBe(204);
    },
  );

  it('an allowlisted origin gets its own origin back with credentials, on GET, POST and preflight', async () => {
    expect(await upgradeStatus(listed, ALLOWED)).toBe(101);
    const client = new RawPollingClient(listed.url, { origin: ALLOWED });
    const answers = [await client.handshake()];
    answers.push(await client.post('40'));
    answers.push(await client.get());
    const options = await preflight(listed, ALLOWED);
    expect(options.status).toBe(204);
    for (const answer of [...answers, options]) {
      expect(answer.status).toBeLessThan(300);
      expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(answer.headers['access-control-allow-credentials']).toBe('true');
    }
  });

  it("allowedOrigins '*' answers Access-Control-Allow-Origin: * and never allows credentials", async () => {
    expect(await upgradeStatus(open, EVIL)).toBe(101);
    const client = new RawPollingClient(open.url, { origin: EVIL });
    const answers = [await client.handshake()];
    answers.push(await client.post('40'));
    answers.push(await client.get());
    const options = await preflight(open, EVIL);
    expect(options.status).toBe(204);
    for (const answer of [...answers, options]) {
      expect(answer.status).toBeLessThan(300);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});
