import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoNamespace,
  openPollingSession,
  openWebSocketSession,
  poll,
  post,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';

let test: TestEngine;
beforeAll(async () => {
  test = await startEngine({ pingInterval: 150, pingTimeout: 150, connectTimeout: 60_000 }, { '/': echoNamespace() });
});
afterAll(() => test.stop());

describe('heartbeat', () => {
  it('pings over WebSocket and keeps a session that answers', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    for (let i = 0; i < 3; i++) {
      expect(await reader.next()).toBe('2');
      reader.ws.send('3');
    }
    expect(test.closed.some((c) => c.sid === sid)).toBe(false);
    reader.ws.close();
  });

  it('closes a silent WebSocket session with "ping timeout", and only that one', async () => {
    const silent = await openWebSocketSession(test);
    const alive = await openWebSocketSession(test);
    alive.reader.ws.on('message', (data) => {
      if ((data as Buffer).toString() === '2') alive.reader.ws.send('3');
    });
    expect(await silent.reader.next()).toBe('2');
    expect(await test.closedSession(silent.sid)).toBe('ping timeout');
    await silent.reader.closed;
    // The answering session outlives two more heartbeats.
    alive.reader.ws.send('40');
    expect(await alive.reader.nextNonPing()).toMatch(/^40/);
    expect(await alive.reader.next()).toBe('2');
    expect(await alive.reader.next()).toBe('2');
    expect(test.closed.some((c) => c.sid === alive.sid)).toBe(false);
    alive.reader.ws.close();
  });

  it('pings through long-polling and times out a client that stops answering', async () => {
    const { sid } = await openPollingSession(test);
    expect((await poll(test, sid)).body).toBe('2');
    await post(test, sid, '3');
    expect((await poll(test, sid)).body).toBe('2');
    expect(await test.closedSession(sid)).toBe('ping timeout');
    expect((await poll(test, sid)).status).toBe(400);
  });
});
