import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoNamespace,
  openPollingSession,
  poll,
  post,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';

let test: TestEngine;
const main = echoNamespace();
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000 }, { '/': main });
});
afterAll(() => test.stop());

describe('HTTP long-polling', () => {
  it('carries CONNECT and events both ways, several packets per payload', async () => {
    const { sid } = await openPollingSession(test);
    expect(await post(test, sid, '40')).toEqual({ status: 200, body: 'ok' });
    const connect = await poll(test, sid);
    expect(connect.body).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    // Two packets in one POST; the answers may come in one payload separated by \x1e.
    await post(test, sid, '42["message",1]', '42["message",2]');
    let received: string[] = [];
    while (received.length < 2) received = received.concat((await poll(test, sid)).body.split('\x1e'));
    expect(received).toEqual(['42["message-back",1]', '42["message-back",2]']);
  });

  it('holds a GET until there is something to send', async () => {
    const { sid } = await openPollingSession(test);
    const pending = poll(test, sid);
    await post(test, sid, '40');
    expect((await pending).body).toMatch(/^40/);
  });

  it('sends binary attachments as base64 "b" packets and decodes them from the client', async () => {
    const { sid } = await openPollingSession(test);
    await post(test, sid, '40');
    await poll(test, sid);
    await post(test, sid, '451-["message",{"_placeholder":true,"num":0}]', 'bAQID');
    let parts: string[] = [];
    while (parts.length < 2) parts = parts.concat((await poll(test, sid)).body.split('\x1e'));
    expect(parts).toEqual(['451-["message-back",{"_placeholder":true,"num":0}]', 'bAQID']);
  });

  it('releases a pending GET with a noop when the client sends close, then forgets the session', async () => {
    const { sid } = await openPollingSession(test);
    const pending = poll(test, sid);
    // Let the GET arrive first: the POST is sent only after the server holds it.
    await new Promise((r) => setTimeout(r, 100));
    await post(test, sid, '1');
    expect(await pending).toEqual({ status: 200, body: '6' });
    expect(await test.closedSession(sid)).toBe('transport close');
    expect((await poll(test, sid)).status).toBe(400);
  });

  it('refuses an overlapping GET and closes that session only', async () => {
    const a = await openPollingSession(test);
    const b = await openPollingSession(test);
    const first = poll(test, a.sid);
    await new Promise((r) => setTimeout(r, 100));
    const second = await poll(test, a.sid);
    expect(second.status).toBe(400);
    expect(await test.closedSession(a.sid)).toBe('transport error');
    expect((await first).body).toBe('1');
    await post(test, b.sid, '40');
    expect((await poll(test, b.sid)).body).toMatch(/^40/);
  });
});
