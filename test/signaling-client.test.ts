/**
 * The browser's signaling connection (src/client/signaling-client.ts) against a real Parley:
 * WebSocket first (no long-polling handshake and upgrade), and with `preconnect` the connection
 * is open before the first join, which then only sends the room. The socket keeps its resume
 * token and presents it on reconnection; a `role` that resumes the call is not a new join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindSignaling, connectSignaling, keepResumeToken } from '../src/client/signaling-client.js';
import type { PeerEvent } from '../src/machines/peer-machine.js';
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

describe('connectSignaling with an early join', () => {
  it('joins before anything listens, and delivers what the server sent meanwhile, in order, to the listeners bound on take', async () => {
    const open = connectSignaling(parley.url, { join: { room: 'early-join' } });
    await expect.poll(() => parley.signaling.rooms.view('early-join')?.peers.length).toBe(1);
    // The other peer joins and sends an offer and a candidate while nothing listens here.
    const other = connectSignaling(parley.url)({ room: 'early-join' });
    await expect.poll(() => other.connected).toBe(true);
    other.emit('data', { type: 'offer', sdp: 'v=0 early' });
    other.emit('data', {
      type: 'candidate',
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      const socket = open({ room: 'early-join' });
      const events: PeerEvent[] = [];
      const unbind = bindSignaling(socket, (event) => events.push(event));
      const tokens: unknown[] = [];
      socket.on('resume-token', (payload) => tokens.push(payload));
      await expect
        .poll(() => events.map((event) => event.type))
        .toEqual(['signal.role', 'signal.iceServers', 'signal.ready', 'signal.offer', 'signal.candidate']);
      expect(events[3]).toEqual({ type: 'signal.offer', sdp: 'v=0 early' });
      // Resume tokens (one on joining, one when the partner came) reached the listener bound after the take.
      expect(tokens.length).toBeGreaterThan(0);
      // One connection, one join: the socket taken is the one that joined.
      expect(parley.engine.sessionCount).toBe(2);
      expect(parley.signaling.rooms.view('early-join')?.peers.length).toBe(2);
      // Later events go straight to the listeners.
      other.emit('data', { type: 'answer', sdp: 'v=0 later' });
      await expect.poll(() => events.at(-1)).toEqual({ type: 'signal.answer', sdp: 'v=0 later' });
      unbind();
      socket.disconnect();
    } finally {
      other.disconnect();
    }
  });

  it('delivers a refusal the server sent before the take', async () => {
    const first = connectSignaling(parley.url)({ room: 'early-full' });
    const second = connectSignaling(parley.url)({ room: 'early-full' });
    await expect.poll(() => parley.signaling.rooms.view('early-full')?.peers.length).toBe(2);
    const open = connectSignaling(parley.url, { join: { room: 'early-full' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      const socket = open({ room: 'early-full' });
      const events: PeerEvent[] = [];
      bindSignaling(socket, (event) => events.push(event));
      await expect
        .poll(() => events)
        .toEqual([expect.objectContaining({ type: 'signal.rejected', code: 'room-full' })]);
      socket.disconnect();
    } finally {
      first.disconnect();
      second.disconnect();
    }
  });

  it('leaves the early room when the first join asks for another, and joins that one', async () => {
    const open = connectSignaling(parley.url, { join: { room: 'early-a' } });
    await expect.poll(() => parley.signaling.rooms.view('early-a')?.peers.length).toBe(1);
    const socket = open({ room: 'early-b' });
    try {
      await expect.poll(() => parley.signaling.rooms.view('early-b')?.peers.length).toBe(1);
      // It said `leave`: the seat is not held for the recovery window.
      await expect.poll(() => parley.signaling.rooms.view('early-a')).toBeUndefined();
    } finally {
      socket.disconnect();
    }
  });
});

describe('resuming after a reconnection', () => {
  it('keeps the latest resume token in the CONNECT auth, and ignores payloads that are no token', async () => {
    const socket = connectSignaling(parley.url)({ room: 'keeps-token' });
    const stop = keepResumeToken(socket);
    try {
      await expect.poll(() => (socket.auth as { resume?: string }).resume).toMatch(/^[\w-]+\.[\w-]+$/);
      expect(socket.auth).toMatchObject({ room: 'keeps-token' });
      const kept = (socket.auth as { resume: string }).resume;
      const listeners = socket.listeners('resume-token');
      for (const junk of [undefined, null, 'text', { token: 42 }, { token: '' }, { token: 'x'.repeat(300) }]) {
        for (const listener of listeners) (listener as (payload: unknown) => void)(junk);
      }
      expect((socket.auth as { resume: string }).resume).toBe(kept);
      stop();
      expect(socket.listeners('resume-token')).toHaveLength(0);
    } finally {
      socket.disconnect();
    }
  });

  it('passes a fresh role to the peer machine, and a resumed one (the same call goes on) not', async () => {
    const socket = connectSignaling(parley.url)({ room: 'resumed-role' });
    const events: PeerEvent[] = [];
    const unbind = bindSignaling(socket, (event) => events.push(event));
    try {
      await expect.poll(() => events.map((e) => e.type)).toContain('signal.role');
      const deliver = (payload: unknown) =>
        socket.listeners('role').forEach((listener) => (listener as (payload: unknown) => void)(payload));
      deliver({ room: 'resumed-role', role: 'impolite', resumed: true });
      deliver({ room: 'resumed-role', role: 'polite' });
      expect(events.filter((e) => e.type === 'signal.role')).toEqual([
        { type: 'signal.role', room: 'resumed-role', role: 'impolite' },
        { type: 'signal.role', room: 'resumed-role', role: 'polite' },
      ]);
    } finally {
      unbind();
      socket.disconnect();
    }
  });
});
