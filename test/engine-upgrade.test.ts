import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import {
  echoNamespace,
  openPollingSession,
  openWebSocket,
  poll,
  post,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';

let test: TestEngine;
const main = echoNamespace();
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000, upgradeTimeout: 300 }, { '/': main });
});
afterAll(() => test.stop());

describe('upgrade from polling to WebSocket', () => {
  it('probes, releases the pending GET with a noop, then moves buffered packets over once', async () => {
    const { sid } = await openPollingSession(test);
    await post(test, sid, '40');
    await poll(test, sid); // CONNECT
    const pending = poll(test, sid);
    const reader = await openWebSocket(test.engineUrl(`transport=websocket&sid=${sid}`, 'ws'));
    reader.ws.send('2probe');
    expect(await reader.next()).toBe('3probe');
    expect(await pending).toEqual({ status: 200, body: '6' });
    // Emitted while the client is paused between probe and upgrade: buffered for polling.
    await post(test, sid, '42["message","during"]');
    reader.ws.send('5');
    expect(await reader.nextNonPing()).toBe('42["message-back","during"]');
    reader.ws.send('42["message","after"]');
    expect(await reader.nextNonPing()).toBe('42["message-back","after"]');
    // Polling is over for this session.
    expect((await poll(test, sid)).status).toBe(400);
    reader.ws.close();
  });

  it('answers a GET that arrives after the probe with a noop at once, so the client can upgrade', async () => {
    const { sid } = await openPollingSession(test);
    const reader = await openWebSocket(test.engineUrl(`transport=websocket&sid=${sid}`, 'ws'));
    reader.ws.send('2probe');
    expect(await reader.next()).toBe('3probe');
    // No GET was pending when the probe was answered: the next one must not hang.
    expect(await poll(test, sid)).toEqual({ status: 200, body: '6' });
    reader.ws.send('5');
    reader.ws.send('40');
    expect(await reader.nextNonPing()).toMatch(/^40/);
    reader.ws.close();
  });

  it('drops a probe that never upgrades and keeps polling', async () => {
    const { sid } = await openPollingSession(test);
    const reader = await openWebSocket(test.engineUrl(`transport=websocket&sid=${sid}`, 'ws'));
    reader.ws.send('2probe');
    expect(await reader.next()).toBe('3probe');
    expect((await reader.closed).reason).toBe('upgrade failed');
    await post(test, sid, '40');
    expect((await poll(test, sid)).body).toMatch(/^40/);
  });

  it('closes a second WebSocket for a session that already upgraded', async () => {
    const { sid } = await openPollingSession(test);
    const first = await openWebSocket(test.engineUrl(`transport=websocket&sid=${sid}`, 'ws'));
    first.ws.send('2probe');
    first.ws.send('5');
    expect(await first.next()).toBe('3probe');
    const second = await openWebSocket(test.engineUrl(`transport=websocket&sid=${sid}`, 'ws'));
    expect((await second.closed).code).toBe(1008);
    first.ws.close();
  });

  it('lets a stock socket.io-client upgrade and keep talking', async () => {
    const client = io(test.url, { transports: ['polling', 'websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve) => client.io.engine.once('upgrade', () => resolve()));
      expect(client.io.engine.transport.name).toBe('websocket');
      const reply = await client.emitWithAck('message-with-ack', 'hi', { n: 1 });
      expect(reply).toEqual('hi');
    } finally {
      client.close();
    }
  });
});
