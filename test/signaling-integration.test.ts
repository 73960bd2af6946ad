import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import {
  candidateSignal,
  connectClient,
  startTestServer,
  type TestClient,
  type TransportMode,
} from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { turnPassword } from '../src/signaling/turn-credentials.js';

let server: RunningParleyServer;
const clients: TestClient[] = [];
let roomCounter = 0;

beforeAll(async () => {
  server = await startTestServer({
    turn: {
      turnUrls: ['turn:127.0.0.1:3478?transport=udp'],
      turnSecret: 's3cret',
      turnTtl: 600,
      stunUrls: ['stun:127.0.0.1:3478'],
    },
  });
});
afterAll(() => server.close());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function join(
  room: unknown,
  mode: TransportMode = 'websocket',
  how: 'auth' | 'query' = 'auth',
): Promise<TestClient> {
  const client = await connectClient(
    server.url,
    how === 'auth' ? { room, mode } : { query: { room: String(room) }, mode },
  );
  clients.push(client);
  return client;
}
const freshRoom = () => `room-${++roomCounter}`;

describe.each<TransportMode>(['websocket', 'polling', 'upgrade'])('a call over %s', (mode) => {
  it('tells the first peer ready when the second joins, and relays data both ways, never back', async () => {
    const room = freshRoom();
    const a = await join(room, mode);
    const b = await join(room, mode);
    await a.next('ready');
    expect(b.all('ready')).toEqual([]);

    a.socket.emit('data', { type: 'offer', sdp: 'v=0 offer' });
    expect((await b.next('data')).args).toEqual([{ type: 'offer', sdp: 'v=0 offer' }]);
    b.socket.emit('data', { type: 'answer', sdp: 'v=0 answer' });
    expect((await a.next('data')).args).toEqual([{ type: 'answer', sdp: 'v=0 answer' }]);
    for (let i = 0; i < 20; i++) a.socket.emit('data', candidateSignal(`a${i}`));
    const candidates = await b.waitForCount('data', 21);
    expect(candidates.slice(1).map((r) => r.args[0])).toEqual(
      Array.from({ length: 20 }, (_, i) => candidateSignal(`a${i}`)),
    );
    expect(a.all('data')).toHaveLength(1);
  });

  it('gives each peer its role and fresh TURN credentials', async () => {
    const room = freshRoom();
    const a = await join(room, mode);
    const b = await join(room, mode);
    expect((await a.next('role')).args).toEqual([{ room, role: 'impolite' }]);
    expect((await b.next('role')).args).toEqual([{ room, role: 'polite' }]);
    const [payload] = (await b.next('ice-servers')).args as [
      { iceServers: { urls: string[]; username?: string; credential?: string }[]; ttl: number },
    ];
    expect(payload.ttl).toBe(600);
    expect(payload.iceServers[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] });
    const turn = payload.iceServers[1];
    expect(turn.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
    const [expiry, id] = turn.username!.split(':');
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(601);
    expect(id).toBe(b.socket.id);
    expect(turn.credential).toBe(turnPassword('s3cret', turn.username!));
    expect(JSON.stringify(b.received)).not.toContain('s3cret');
  });
});

describe('rooms', () => {
  it('puts a client that names no room in the room "room"', async () => {
    const a = await connectClient(server.url);
    clients.push(a);
    expect((await a.next('role')).args).toEqual([{ room: 'room', role: 'impolite' }]);
    expect(server.signaling.rooms.view('room')?.peers.map((p) => p.id)).toEqual([a.socket.id]);
  });

  it('takes the room from the query parameter too', async () => {
    const room = freshRoom();
    const a = await join(room, 'polling', 'query');
    const b = await join(room, 'websocket', 'query');
    await a.next('ready');
    expect((await b.next('role')).args).toEqual([{ room, role: 'polite' }]);
  });

  it('refuses a third peer with room-full and keeps the call up', async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    await a.next('ready');
    const c = await join(room);
    const [message, data] = (await c.next('connect_error')).args;
    expect(data).toEqual({ code: 'room-full', message });
    expect(message).toMatch(/full/);
    expect(c.socket.connected).toBe(false);
    a.socket.emit('data', candidateSignal('after-refusal'));
    expect((await b.next('data')).args).toEqual([candidateSignal('after-refusal')]);
    expect(b.all('peer-left')).toEqual([]);
    expect(server.signaling.rooms.view(room)?.state).toBe('ready');
  });

  it('takes the room back to waiting and tells the other peer when one disconnects', async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    await a.next('ready');
    b.close();
    await a.next('peer-left');
    expect(server.signaling.rooms.view(room)?.state).toBe('waiting');
    const c = await join(room);
    expect((await c.next('role')).args).toEqual([{ room, role: 'polite' }]);
    await a.waitForCount('ready', 2);
  });

  it('leaves on request: the leaver is disconnected, the other told peer-left', async () => {
    const room = freshRoom();
    const a = await join(room, 'polling');
    const b = await join(room);
    await a.next('ready');
    a.socket.emit('leave');
    expect((await a.next('disconnect')).args).toEqual(['io server disconnect']);
    await b.next('peer-left');
    expect(server.signaling.rooms.view(room)?.peers.map((p) => p.id)).toEqual([b.socket.id]);
  });

  it('disposes of a room when its last peer leaves', async () => {
    const room = freshRoom();
    const a = await join(room);
    expect(server.signaling.rooms.view(room)?.state).toBe('waiting');
    a.close();
    await expect.poll(() => server.signaling.rooms.view(room)).toBeUndefined();
  });

  it('never relays across rooms', async () => {
    const [r1, r2] = [freshRoom(), freshRoom()];
    const a1 = await join(r1);
    const b1 = await join(r1);
    const a2 = await join(r2);
    const b2 = await join(r2);
    a1.socket.emit('data', candidateSignal('r1'));
    a2.socket.emit('data', candidateSignal('r2'));
    expect((await b1.next('data')).args).toEqual([candidateSignal('r1')]);
    expect((await b2.next('data')).args).toEqual([candidateSignal('r2')]);
    expect(b1.all('data')).toHaveLength(1);
    expect(b2.all('data')).toHaveLength(1);
  });

  it('acknowledges data when the client asks', async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    await a.next('ready');
    // The typed contract has no ack on `data`; old clients may still ask for one.
    const untyped = a.socket as unknown as Socket;
    await expect(untyped.timeout(5000).emitWithAck('data', candidateSignal('acked'))).resolves.toBeUndefined();
    expect((await b.next('data')).args).toEqual([candidateSignal('acked')]);
  });
});

describe('errors', () => {
  it('refuses a bad room name with a CONNECT error that says why', async () => {
    for (const [room, why] of [
      ['', /empty/],
      ['x'.repeat(65), /65 characters/],
      ['no spaces', /only A-Z/],
      ['ünïcode', /only A-Z/],
      [42, /a number/],
    ] as const) {
      const client = await connectClient(server.url, { room });
      clients.push(client);
      const [message, data] = (await client.next('connect_error')).args as [string, { code: string }];
      expect(data.code).toBe('bad-room-name');
      expect(message).toMatch(why);
    }
  });

  it('refuses a non-object auth payload with bad-handshake', async () => {
    const client = await connectClient(server.url, { auth: 'room-1' });
    clients.push(client);
    const [, data] = (await client.next('connect_error')).args as [string, { code: string }];
    expect(data.code).toBe('bad-handshake');
  });

  it('answers a non-object or malformed data payload with bad-payload and relays nothing', async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    await a.next('ready');
    const bad: unknown[] = [
      'a string',
      42,
      null,
      [1, 2],
      { type: 'offer' },
      { type: 'candidate', candidate: 7 },
      { type: 'hello' },
    ];
    for (const payload of bad) a.socket.emit('data', payload as never);
    const errors = await a.waitForCount('error', bad.length);
    expect(errors.every((e) => (e.args[0] as { code: string }).code === 'bad-payload')).toBe(true);
    a.socket.emit('data', candidateSignal('good'));
    expect((await b.next('data')).args).toEqual([candidateSignal('good')]);
    expect(b.all('data')).toHaveLength(1);
    expect(a.socket.connected).toBe(true);
  });

  it('answers data with no peer with no-peer, and an unknown event with unknown-event', async () => {
    const a = await join(freshRoom());
    a.socket.emit('data', candidateSignal('alone'));
    expect((await a.next('error')).args[0]).toMatchObject({ code: 'no-peer' });
    (a.socket as unknown as { emit: (e: string) => void }).emit('shout');
    const errors = await a.waitForCount('error', 2);
    expect(errors[1].args[0]).toMatchObject({ code: 'unknown-event' });
  });
});
