import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { echoNamespace, openWebSocketSession, startEngine, type TestEngine } from './helpers/engine-server.js';
import type { NamespaceHandler } from '../src/signaling/engine/namespace-handler.js';

let test: TestEngine;
const main = echoNamespace();
const custom = echoNamespace();
/** Welcomes each socket inside `connect()`, then lets it go at once, before the welcome is written. */
const brief: NamespaceHandler = {
  connect(socket) {
    socket.emit('welcome', 'hi');
    setTimeout(() => socket.disconnect(), 0);
    return undefined;
  },
  connected() {},
  event() {},
  disconnect() {},
  rateLimited() {},
};
beforeAll(async () => {
  test = await startEngine(
    { pingInterval: 10_000, pingTimeout: 5000, connectTimeout: 300 },
    { '/': main, '/custom': custom, '/brief': brief },
  );
});
afterAll(() => test.stop());

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

describe('Socket.IO namespaces', () => {
  it('connects a stock client to "/" and "/custom" over one session, with auth', async () => {
    const a = io(test.url, { transports: ['websocket'], reconnection: false, auth: { token: 't1' } });
    const b = io(`${test.url}/custom`, { transports: ['websocket'], reconnection: false, auth: { token: 't2' } });
    try {
      await Promise.all([connected(a), connected(b)]);
      expect(a.id).toBe(main.sockets.at(-1)!.id);
      expect(main.sockets.at(-1)!.handshake.auth).toEqual({ token: 't1' });
      expect(custom.sockets.at(-1)!.handshake.auth).toEqual({ token: 't2' });
      expect(a.io.engine.id).toBe(b.io.engine.id);
    } finally {
      a.close();
      b.close();
    }
  });

  it('refuses an unknown namespace with "Invalid namespace"', async () => {
    const socket = io(`${test.url}/nope`, { transports: ['websocket'], reconnection: false });
    try {
      await expect(connected(socket)).rejects.toThrow('Invalid namespace');
    } finally {
      socket.close();
    }
  });

  it('passes a refusal from the handler as CONNECT_ERROR with data', async () => {
    const socket = io(test.url, { transports: ['websocket'], reconnection: false, auth: { refuse: true } });
    try {
      const error = (await connected(socket).catch((e: unknown) => e)) as Error & { data?: unknown };
      expect(error.message).toBe('refused');
      expect(error.data).toEqual({ why: 'test' });
    } finally {
      socket.close();
    }
  });

  it('answers a non-object auth with CONNECT_ERROR and keeps the session', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    reader.ws.send('40"just a string"');
    const message = 'Invalid handshake: the CONNECT auth payload must be a JSON object';
    expect(await reader.next()).toBe(`44${JSON.stringify({ message, data: { code: 'bad-handshake', message } })}`);
    reader.ws.send('40');
    expect(await reader.next()).toMatch(/^40\{"sid"/);
    expect(test.closed.some((c) => c.sid === sid)).toBe(false);
    reader.ws.close();
  });

  it('closes a session that sends no CONNECT within connectTimeout', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    expect(await test.closedSession(sid)).toBe('connect timeout');
    await reader.closed;
  });

  it('tells the handler of a client disconnect and of a server disconnect', async () => {
    const socket = io(test.url, { transports: ['websocket'], reconnection: false });
    await connected(socket);
    const id = socket.id!;
    const serverSide = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit('leave');
    expect(await serverSide).toBe('io server disconnect');
    expect(main.disconnects.find((d) => d.id === id)?.reason).toBe('server namespace disconnect');
    socket.connect();
    await connected(socket);
    const id2 = socket.id!;
    socket.disconnect();
    await expect.poll(() => main.disconnects.find((d) => d.id === id2)?.reason).toBe('client namespace disconnect');
    socket.close();
  });

  it('tells a client it was disconnected while what connect() emitted still waits behind CONNECT', async () => {
    // Emits made inside connect() trail CONNECT by a few milliseconds; a disconnect meanwhile
    // sends them, then DISCONNECT, instead of leaving the client connected to nothing.
    const socket = io(`${test.url}/brief`, { transports: ['websocket'], reconnection: false });
    const heard: string[] = [];
    socket.on('welcome', (text: string) => heard.push(`welcome ${text}`));
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    try {
      await connected(socket);
      expect(await reason).toBe('io server disconnect');
      expect(heard).toEqual(['welcome hi']);
    } finally {
      socket.close();
    }
  }, 5_000);
});
