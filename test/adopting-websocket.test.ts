/**
 * The early signaling socket (src/client/early-socket.ts) and its adoption by socket.io-client
 * (src/client/adopting-websocket.ts) against a real Parley: the socket a page's inline script
 * opened becomes the Engine.IO transport, whether it is still connecting or already open with the
 * handshake received, and no second connection is made. Here `ws` stands in for the browser's
 * WebSocket, and a plain object for `window`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import { connectSignaling } from '../src/client/signaling-client.js';
import { hasEarlySocket } from '../src/client/early-socket.js';
import { startTestServer } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let parley: RunningParleyServer;
const globals = globalThis as { window?: unknown; WebSocket?: unknown };
const saved = { window: globals.window, WebSocket: globals.WebSocket };

beforeAll(async () => {
  parley = await startTestServer();
});
afterAll(() => parley?.close());
afterEach(() => {
  globals.window = saved.window;
  globals.WebSocket = saved.WebSocket;
});

/** Opens the early socket as the inline script does (openEarlySocket), with `ws` for the browser's. */
function openEarly(url = parley.url) {
  const socket = new NodeWebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  socket.binaryType = 'arraybuffer';
  const received: unknown[] = [];
  socket.onmessage = ({ data }) => received.push(data);
  globals.WebSocket = NodeWebSocket;
  globals.window = { __parleyEarlySocket: { socket, received } };
  return { socket, received };
}

describe('the early signaling socket', () => {
  it('is taken over once open, with the Engine.IO handshake it received, and the join goes over it', async () => {
    const early = openEarly();
    await expect.poll(() => early.received.length).toBe(1);
    expect(parley.engine.sessionCount).toBe(1);
    const socket = connectSignaling(parley.url, { preconnect: true })({ room: 'adopted-open' });
    try {
      await expect.poll(() => socket.connected).toBe(true);
      expect(hasEarlySocket()).toBe(false);
      expect(socket.io.engine.transport.name).toBe('websocket');
      await expect.poll(() => parley.signaling.rooms.view('adopted-open')?.peers.length).toBe(1);
      // The session is the early socket's: the server saw one connection only.
      expect(parley.engine.sessionCount).toBe(1);
      expect(socket.io.engine.id).toBe(JSON.parse(String(early.received[0]).slice(1)).sid);
    } finally {
      socket.disconnect();
    }
  });

  it('is taken over while still connecting', async () => {
    const early = openEarly();
    expect(early.socket.readyState).toBe(NodeWebSocket.CONNECTING);
    const socket = connectSignaling(parley.url, { preconnect: true })({ room: 'adopted-connecting' });
    try {
      await expect.poll(() => socket.connected).toBe(true);
      await expect.poll(() => parley.signaling.rooms.view('adopted-connecting')?.peers.length).toBe(1);
      expect(parley.engine.sessionCount).toBe(1);
      expect(early.received).toEqual([]);
    } finally {
      socket.disconnect();
    }
  });

  it('is left alone when it goes elsewhere or has closed: the client opens its own', async () => {
    const other = await startTestServer();
    try {
      const elsewhere = openEarly(other.url);
      const socket = connectSignaling(parley.url, { preconnect: true })({ room: 'not-adopted' });
      await expect.poll(() => socket.connected).toBe(true);
      expect(hasEarlySocket()).toBe(true);
      socket.disconnect();
      elsewhere.socket.close();

      const closed = openEarly();
      await expect.poll(() => closed.received.length).toBe(1);
      closed.socket.close();
      await expect.poll(() => closed.socket.readyState).toBe(NodeWebSocket.CLOSED);
      const second = connectSignaling(parley.url, { preconnect: true })({ room: 'closed-early' });
      await expect.poll(() => second.connected).toBe(true);
      await expect.poll(() => parley.signaling.rooms.view('closed-early')?.peers.length).toBe(1);
      expect(hasEarlySocket()).toBe(false);
      second.disconnect();
    } finally {
      other.close();
    }
  });
});
