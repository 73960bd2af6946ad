/**
 * The room side of connection state recovery, with real socket.io-clients: a peer whose transport
 * drops keeps its seat for the window, the other peer is told nothing, and what is relayed to it
 * meanwhile arrives when it is back; the seat is released when the window passes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

/** Short, so that expiry is quick to test; long enough for a reconnection on a busy machine. */
const WINDOW_MS = 1_500;

let server: RunningParleyServer;
const clients: TestClient[] = [];
let roomCounter = 0;

beforeAll(async () => {
  server = await startTestServer({ engine: { connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } } });
});
afterAll(() => server.close());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function join(room: string): Promise<TestClient> {
  const client = await connectClient(server.url, { room });
  clients.push(client);
  return client;
}

/** Two peers in a call in a fresh room. */
async function call(): Promise<{ room: string; a: TestClient; b: TestClient }> {
  const room = `recovery-${++roomCounter}`;
  const a = await join(room);
  const b = await join(room);
  await a.next('ready');
  return { room, a, b };
}

/** Closes `client`'s transport under its socket, as a network flap does, and waits for the drop. */
async function flap(client: TestClient): Promise<void> {
  const drops = client.all('disconnect').length;
  client.socket.io.engine.close();
  await client.waitForCount('disconnect', drops + 1);
}

/** Reconnects a flapped client and waits until it is connected again. */
async function reconnect(client: TestClient): Promise<void> {
  const connects = client.all('connect').length;
  client.socket.connect();
  await client.waitForCount('connect', connects + 1);
}

const view = (room: string) => server.signaling.rooms.view(room);

describe('a seat held during the recovery window', () => {
  it('keeps the socket id, tells the other peer nothing, and delivers what was relayed meanwhile', async () => {
    const { room, a, b } = await call();
    const id = b.socket.id;
    await flap(b);
    await expect.poll(() => view(room)?.peers.map((peer) => peer.presence)).toEqual(['here', 'away']);
    expect(view(room)).toMatchObject({ state: 'ready', held: true });

    // Relayed into the held socket: no `no-peer` error for the sender.
    for (let i = 0; i < 5; i++) a.socket.emit('data', candidateSignal(`held-${i}`));
    await reconnect(b);
    expect(b.socket.recovered).toBe(true);
    expect(b.socket.id).toBe(id);
    const relayed = await b.waitForCount('data', 5);
    expect(relayed.map((r) => (r.args[0] as ReturnType<typeof candidateSignal>).candidate.candidate)).toEqual(
      [0, 1, 2, 3, 4].map((i) => candidateSignal(`held-${i}`).candidate.candidate),
    );
    expect(view(room)).toMatchObject({ state: 'ready', held: false });

    // Nothing on either side says the call changed: no peer-left, no new role, no ready.
    expect(a.all('peer-left')).toEqual([]);
    expect(a.all('error')).toEqual([]);
    expect(b.all('role')).toHaveLength(1);
    expect(b.all('ready')).toEqual([]);
    expect(a.all('ready')).toHaveLength(1);

    // And signaling goes on both ways.
    b.socket.emit('data', { type: 'offer', sdp: 'after the flap' });
    expect((await a.next('data')).args[0]).toEqual({ type: 'offer', sdp: 'after the flap' });
  });

  it('survives the same peer flapping again and again', async () => {
    const { a, b } = await call();
    for (let round = 0; round < 5; round++) {
      await flap(b);
      a.socket.emit('data', candidateSignal(`round-${round}`));
      await reconnect(b);
      expect(b.socket.recovered).toBe(true);
      await b.waitForCount('data', round + 1);
    }
    expect(a.all('peer-left')).toEqual([]);
    expect(b.all('role')).toHaveLength(1);
  });

  it('refuses a third joiner with room-full while a seat is held', async () => {
    const { room, b } = await call();
    b.socket.io.reconnection(false);
    await flap(b);
    const c = await join(room);
    expect((await c.next('connect_error')).args[1]).toEqual({
      code: 'room-full',
      message: `Room "${room}" is full: it holds two peers, one of them reconnecting.`,
    });
    expect(view(room)?.peers).toHaveLength(2);
  });

  it('releases the seat when the window passes: the other peer is told peer-left and can take a newcomer', async () => {
    const { room, a, b } = await call();
    await flap(b);
    await a.next('peer-left', { timeoutMs: WINDOW_MS + 10_000 });
    expect(view(room)).toMatchObject({ state: 'waiting', held: false });
    expect(view(room)?.peers).toHaveLength(1);

    // The seat is free: a newcomer gets it, and the peer that waited offers.
    const c = await join(room);
    expect((await c.next('role')).args[0]).toEqual({ room, role: 'polite' });
    await a.waitForCount('ready', 2);

    // The late client comes back to a session that is gone: it joins afresh, and the room is full.
    b.socket.connect();
    expect((await b.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
  });

  it('holds the seat of a peer waiting alone, and hands it ready when it is back', async () => {
    const room = `recovery-${++roomCounter}`;
    const a = await join(room);
    await flap(a);
    await expect.poll(() => view(room)?.held).toBe(true);
    const b = await join(room);
    expect((await b.next('role')).args[0]).toEqual({ room, role: 'polite' });
    await reconnect(a);
    expect(a.socket.recovered).toBe(true);
    // `ready` was sent into the held socket and replayed: the peer that waited offers.
    await a.next('ready');
    a.socket.emit('data', { type: 'offer', sdp: 'waited' });
    expect((await b.next('data')).args[0]).toEqual({ type: 'offer', sdp: 'waited' });
  });

  it('tells a peer away that the other left, when it is back', async () => {
    const { room, a, b } = await call();
    await flap(b);
    a.socket.emit('leave');
    await a.next('disconnect');
    await expect.poll(() => view(room)).toMatchObject({ state: 'waiting', held: true });
    await reconnect(b);
    await b.next('peer-left');
    expect(view(room)).toMatchObject({ state: 'waiting', held: false });
  });
});

describe('a recovered socket with the live inspector on', () => {
  it('is asked to publish again (its publisher stops on every drop), and told nothing else', async () => {
    const inspected = await startTestServer({
      inspect: {},
      engine: { connectionStateRecovery: { maxDisconnectionDuration: WINDOW_MS } },
    });
    try {
      const client = await connectClient(inspected.url, { room: 'recovery-inspected' });
      clients.push(client);
      await client.next('inspector');
      await flap(client);
      const seen = client.received.length;
      await reconnect(client);
      await client.waitForCount('inspector', 2);
      expect(client.received.slice(seen).map((r) => r.event)).toEqual(['connect', 'inspector']);
    } finally {
      inspected.close();
    }
  });
});
