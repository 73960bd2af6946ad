import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoNamespace,
  openPollingSession,
  openWebSocketSession,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';

let test: TestEngine;
beforeAll(async () => {
  test = await startEngine(
    { pingInterval: 5000, pingTimeout: 4000, maxPayload: 5000, allowedOrigins: ['https://app.example'] },
    { '/': echoNamespace() },
  );
});
afterAll(() => test.stop());

describe('Engine.IO handshake', () => {
  it('opens a polling session advertising upgrades, heartbeat and maxPayload', async () => {
    const { sid, open } = await openPollingSession(test);
    expect(sid).toMatch(/^[\w-]{20}$/);
    expect(open).toEqual({ sid, upgrades: ['websocket'], pingInterval: 5000, pingTimeout: 4000, maxPayload: 5000 });
    expect(test.engine.sessionCount).toBeGreaterThanOrEqual(1);
  });

  it('opens a direct WebSocket session with no upgrades', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    expect(sid).toMatch(/^[\w-]{20}$/);
    reader.ws.close();
  });

  it.each([
    ['EIO=4', 400, 0, 'Transport unknown'],
    ['EIO=4&transport=abc', 400, 0, 'Transport unknown'],
    ['transport=polling', 400, 5, 'Unsupported protocol version'],
    ['EIO=3&transport=polling', 400, 5, 'Unsupported protocol version'],
    ['EIO=4&transport=polling&sid=nope', 400, 1, 'Session ID unknown'],
    ['EIO=4&transport=websocket', 400, 3, 'Bad request'],
  ])('answers ?%s with %i {code: %i}', async (query, status, code, message) => {
    const response = await fetch(`${test.url}/socket.io/?${query}`);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ code, message });
  });

  it('refuses a handshake that is not a GET with code 2', async () => {
    const response = await fetch(test.engineUrl('transport=polling'), { method: 'POST', body: 'x' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 2, message: 'Bad handshake method' });
  });

  it('reflects an allowed origin with credentials and answers its preflight', async () => {
    const origin = 'https://app.example';
    const response = await fetch(test.engineUrl('transport=polling'), { headers: { origin } });
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    await response.text();
    const preflight = await fetch(test.engineUrl('transport=polling'), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
  });

  it('refuses a foreign origin with 403, no CORS headers and no session, preflight included', async () => {
    const origin = 'https://evil.example';
    const sessionsBefore = test.engine.sessionCount;
    const response = await fetch(test.engineUrl('transport=polling'), { headers: { origin } });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await response.json()).toEqual({ code: 4, message: 'Origin not allowed' });
    expect(test.engine.sessionCount).toBe(sessionsBefore);
    const preflight = await fetch(test.engineUrl('transport=polling'), { method: 'OPTIONS', headers: { origin } });
    expect(preflight.status).toBe(403);
  });
});
