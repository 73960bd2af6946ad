/**
 * The browser's signaling connection (src/client/signaling-client.ts) against a real Parley:
 * WebSocket first (no long-polling handshake and upgrade), and with `preconnect` the connection
 * is open before the first join, which then only sends the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSignaling } from '../src/client/signaling-client.js';
import { startTestServer } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

let parley: RunningParleyServer;

beforeAll(async () => {
  parley = await startTestServer();
});
afterAll(() => parley?.close());

describe('connectSignaling', () => {
  it('opens nothing until the first join without preconnect, and joins over WebSocket', async () => {
    const open = connectSignaling(parley.url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(parley.engine.sessionCount).toBe(0);
    const socket = open({ room: 'ws-first' });
    try {
      await expect.poll(() => socket.connected).toBe(true);
      expect(socket.io.engine.transport.name).toBe('websocket');
      await expect.poll(() => parley.signaling.rooms.view('ws-first')?.peers.length).toBe(1);
    } finally {
      socket.disconnect();
    }
  });

  it('with preconnect, has the connection open before the join, and joins over it', async () => {
    const open = connectSignaling(parley.url, { preconnect: true });
    await expect.poll(() => parley.engine.sessionCount).toBe(1);
    expect(parley.signaling.rooms.view('warm')).toBeUndefined();
    const socket = open({ room: 'warm' });
    try {
      await expect.poll(() => parley.signaling.rooms.view('warm')?.peers.length).toBe(1);
      expect(parley.engine.sessionCount).toBe(1);
      expect(socket.io.engine.transport.name).toBe('websocket');
    } finally {
      socket.disconnect();
    }
    // A rejoin opens a connection of its own.
    const again = open({ room: 'warm' });
    try {
      await expect.poll(() => again.connected).toBe(true);
      expect(again.io).not.toBe(socket.io);
    } finally {
      again.disconnect();
    }
  });
});
