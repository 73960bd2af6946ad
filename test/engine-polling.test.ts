import { SimulatedClock } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoNamespace,
  openPollingSession,
  poll,
  post,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';
import { PollingTombstones } from '../src/signaling/engine/polling-tombstones.js';

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

describe('HTTP long-polling: a session the server closes while no GET is pending', () => {
  // Short timers: CONNECT due in 50 ms, tombstones last pingInterval + pingTimeout = 250 ms.
  let quick: TestEngine;
  beforeAll(async () => {
    quick = await startEngine({ pingInterval: 150, pingTimeout: 100, connectTimeout: 50 }, { '/': echoNamespace() });
  });
  afterAll(() => quick.stop());

  it('answers the next GET with the close packet, then 400 "Session ID unknown"', async () => {
    const { sid } = await openPollingSession(quick);
    expect(await quick.closedSession(sid)).toBe('connect timeout');
    expect(await poll(quick, sid)).toEqual({ status: 200, body: '1' });
    expect(await poll(quick, sid)).toEqual({ status: 400, body: '{"code":1,"message":"Session ID unknown"}' });
  });

  it('forgets the close packet after pingInterval + pingTimeout', async () => {
    const { sid } = await openPollingSession(quick);
    expect(await quick.closedSession(sid)).toBe('connect timeout');
    await new Promise((r) => setTimeout(r, 400));
    expect((await poll(quick, sid)).status).toBe(400);
  });

  it('keeps the close packet for GETs only: a POST still gets 400', async () => {
    const { sid } = await openPollingSession(quick);
    expect(await quick.closedSession(sid)).toBe('connect timeout');
    expect((await post(quick, sid, '42["message",1]')).status).toBe(400);
    expect((await poll(quick, sid)).body).toBe('1');
  });

  it('does not announce a ping timeout: the client is presumed gone, as engine.io does', async () => {
    // An engine of its own: with the 50 ms CONNECT deadline above, a loaded machine can be slower
    // to deliver the CONNECT than the deadline, and the session then closes for that instead.
    const slowConnect = await startEngine(
      { pingInterval: 150, pingTimeout: 100, connectTimeout: 5000 },
      { '/': echoNamespace() },
    );
    try {
      const { sid } = await openPollingSession(slowConnect);
      await post(slowConnect, sid, '40');
      expect(await slowConnect.closedSession(sid)).toBe('ping timeout');
      expect((await poll(slowConnect, sid)).status).toBe(400);
    } finally {
      slowConnect.stop();
    }
  });

  it('tells a polling client of a server shutdown on its next GET', async () => {
    const own = await startEngine({ pingInterval: 10_000, pingTimeout: 5000 }, { '/': echoNamespace() });
    try {
      const { sid } = await openPollingSession(own);
      await post(own, sid, '40');
      own.engine.close();
      expect(await own.closedSession(sid)).toBe('server shutting down');
      expect(await poll(own, sid)).toEqual({ status: 200, body: '1' });
    } finally {
      own.stop();
    }
  });
});

describe('PollingTombstones', () => {
  it('keeps at most its capacity, dropping the oldest first, and answers each sid once', () => {
    const tombstones = new PollingTombstones(60_000, new SimulatedClock(), 2);
    tombstones.add('a');
    tombstones.add('b');
    tombstones.add('c');
    expect(tombstones.size).toBe(2);
    expect(tombstones.take('a')).toBe(false);
    expect(tombstones.take('b')).toBe(true);
    expect(tombstones.take('b')).toBe(false);
    expect(tombstones.take('c')).toBe(true);
  });
});
