/**
 * The signaling app on the open internet: room secrets (a room's name is not enough to join
 * it, and nobody learns whether a room exists without its secret), the TURN credential limit
 * per client address, the answer to messages over the engine's rate, and event names quoted
 * back only in part. Real server, real socket.io-clients; time is injected, nothing sleeps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, startTestServer, type Received, type TestClient } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { roomKey } from '../src/signaling/room-registry.js';
import { turnPassword } from '../src/signaling/turn-credentials.js';
import type { IceServersPayload } from '../src/protocol/signaling-events.js';

const TURN = {
  turnUrls: ['turn:127.0.0.1:3478?transport=udp'],
  turnSecret: 'turn-secret',
  turnTtl: 3_600,
  stunUrls: ['stun:127.0.0.1:3478'],
};

const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

let roomCounter = 0;
const freshRoom = () => `secure-${++roomCounter}`;

/** What a client received from the server, without ids and credentials that differ per client. */
/** What a client received, but for what differs by nature: its ICE servers, and its resume token (only its length). */
const shape = (received: Received[]) =>
  received.map(({ event, args }) =>
    event === 'ice-servers'
      ? { event }
      : event === 'resume-token'
        ? { event, length: (args[0] as { token: string }).token.length }
        : { event, args },
  );

describe('room secrets', () => {
  let server: RunningParleyServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  async function join(room: unknown, secret?: unknown): Promise<TestClient> {
    const client = await connectClient(server.url, { room, secret });
    clients.push(client);
    return client;
  }

  it('lets two peers with the same secret meet, and tells them the public room name', async () => {
    const room = freshRoom();
    const a = await join(room, 'correct horse battery staple');
    const b = await join(room, 'correct horse battery staple');
    await a.next('ready');
    expect((await a.next('role')).args).toEqual([{ room, role: 'impolite' }]);
    expect((await b.next('role')).args).toEqual([{ room, role: 'polite' }]);
    a.socket.emit('data', candidateSignal('secret-room'));
    expect((await b.next('data')).args).toEqual([candidateSignal('secret-room')]);
  });

  it('puts a peer with a wrong or no secret alone in another room, and the call never hears of it', async () => {
    const room = freshRoom();
    const a = await join(room, 'right');
    for (const intruder of [await join(room, 'wrong'), await join(room)]) {
      expect((await intruder.next('role')).args).toEqual([{ room, role: 'impolite' }]);
      intruder.socket.emit('data', candidateSignal('intruder'));
      expect((await intruder.next('error')).args[0]).toMatchObject({ code: 'no-peer' });
    }
    const b = await join(room, 'right');
    await a.next('ready');
    expect((await b.next('role')).args).toEqual([{ room, role: 'polite' }]);
    expect(a.all('ready')).toHaveLength(1);
    expect(a.all('data')).toEqual([]);
    expect(server.signaling.rooms.view(roomKey(room, 'right'))?.peers.map((p) => p.id)).toEqual([
      a.socket.id,
      b.socket.id,
    ]);
  });

  it('answers a guess at a full room exactly as a guess at a room that does not exist', async () => {
    const room = freshRoom();
    await join(room, 'the secret');
    const b = await join(room, 'the secret');
    await b.next('role');
    const atFullRoom = await join(room, 'a guess');
    const atNoRoom = await join(freshRoom(), 'a guess');
    await Promise.all([atFullRoom.next('ice-servers'), atNoRoom.next('ice-servers')]);
    const [nameOfFull, nameOfNone] = [atFullRoom, atNoRoom].map(
      (c) => (c.all('role')[0].args[0] as { room: string }).room,
    );
    expect(shape(atFullRoom.received)).toEqual(
      shape(atNoRoom.received).map((r) =>
        r.event === 'role' ? { ...r, args: [{ room: nameOfFull, role: 'impolite' }] } : r,
      ),
    );
    expect(nameOfNone).not.toBe(nameOfFull);
    expect(atFullRoom.socket.connected).toBe(true);
    // With the secret, the same room is full.
    const third = await join(room, 'the secret');
    expect((await third.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
    // A refused peer gets no ICE servers, so no TURN credentials either.
    expect(third.all('ice-servers')).toEqual([]);
  });

  it('keeps a room without a secret apart from the same name with one', async () => {
    const room = freshRoom();
    const open = await join(room);
    const secret = await join(room, 's');
    await Promise.all([open.next('role'), secret.next('role')]);
    expect(server.signaling.rooms.view(room)?.peers.map((p) => p.id)).toEqual([open.socket.id]);
    expect(server.signaling.rooms.view(roomKey(room, 's'))?.peers.map((p) => p.id)).toEqual([secret.socket.id]);
  });

  it('never stores the secret itself', () => {
    const key = roomKey('standup', 'hunter2 hunter2');
    expect(key).not.toContain('hunter2');
    expect(key.startsWith('standup\u0000')).toBe(true);
    expect(key).toBe(roomKey('standup', 'hunter2 hunter2'));
    expect(key).not.toBe(roomKey('standup', 'hunter3 hunter3'));
    expect(roomKey('standup', undefined)).toBe('standup');
  });

  it('accepts a secret of 1 to 128 characters, and refuses anything else with bad-handshake', async () => {
    for (const secret of ['x', 'é'.repeat(128)]) {
      expect((await (await join(freshRoom(), secret)).next('role')).args).toHaveLength(1);
    }
    for (const [secret, why] of [
      ['', /1 to 128 characters, got 0 characters/],
      ['x'.repeat(129), /got 129 characters/],
      [42, /got a number/],
      [null, /got null/],
      [['x'], /got an array/],
      [{ value: 'x' }, /got an object/],
    ] as const) {
      const client = await join(freshRoom(), secret);
      const [message, data] = (await client.next('connect_error')).args as [string, { code: string }];
      expect(data.code).toBe('bad-handshake');
      expect(message).toMatch(why);
    }
  });

  it('refuses a secret in the query string, where it would end up in logs', async () => {
    const client = await connectClient(server.url, { query: { room: freshRoom(), secret: 'leaky' } });
    clients.push(client);
    const [message, data] = (await client.next('connect_error')).args as [string, { code: string }];
    expect(data.code).toBe('bad-handshake');
    expect(message).toMatch(/auth payload, not in the query string/);
  });
});

describe('TURN credentials per client address', () => {
  let server: RunningParleyServer;
  let now = Date.UTC(2030, 0, 1);
  beforeAll(async () => {
    // The production default, 10 at once and then 10 a minute, on a clock the test moves.
    server = await startTestServer({ turn: TURN, turnRate: { perMinute: 10, burst: 10 }, now: () => now });
  });
  afterAll(() => server.close());

  /** Joins a fresh room, returns the ICE servers given and the errors that came with them, and leaves. */
  async function joinOnce(): Promise<{ payload: IceServersPayload; id: string; errors: unknown[] }> {
    const client = await connectClient(server.url, { room: freshRoom() });
    clients.push(client);
    const [payload] = (await client.next('ice-servers')).args as [IceServersPayload];
    const id = client.socket.id!;
    // An error of the join would come before the answer to a later request: no-peer marks the end.
    client.socket.emit('data', candidateSignal('alone'));
    const code = (r: Received) => (r.args[0] as { code: string }).code;
    let from = 0;
    for (let error = await client.next('error'); code(error) !== 'no-peer';) {
      from = client.received.indexOf(error) + 1;
      error = await client.next('error', { from });
    }
    const errors = client
      .all('error')
      .filter((r) => code(r) !== 'no-peer')
      .map((r) => r.args[0]);
    client.close();
    return { payload, id, errors };
  }
  const hasTurn = (payload: IceServersPayload) => payload.iceServers.some((s) => s.username !== undefined);

  it('gives 10 credentials at once, then STUN only with a rate-limited error, then one more every 6 s', async () => {
    for (let i = 0; i < 10; i++) {
      const { payload, errors } = await joinOnce();
      expect(hasTurn(payload)).toBe(true);
      expect(errors).toEqual([]);
    }
    const limited = await joinOnce();
    expect(limited.payload).toEqual({ iceServers: [{ urls: TURN.stunUrls }], ttl: TURN.turnTtl });
    expect(limited.errors).toEqual([
      { code: 'rate-limited', message: expect.stringMatching(/TURN credentials are rate-limited/) },
    ]);

    now += 6_000;
    const refilled = await joinOnce();
    expect(hasTurn(refilled.payload)).toBe(true);
    // The credentials expire an hour after the injected time.
    const turn = refilled.payload.iceServers.find((s) => s.username !== undefined)!;
    expect(turn.username).toBe(`${Math.floor(now / 1000) + 3_600}:${refilled.id}`);
    expect(turn.credential).toBe(turnPassword(TURN.turnSecret, turn.username!));
    expect(hasTurn((await joinOnce()).payload)).toBe(false);

    // Idle for a minute, the address is forgotten: a full burst again.
    now += 60_000;
    for (let i = 0; i < 10; i++) expect(hasTurn((await joinOnce()).payload)).toBe(true);
  });
});

describe('messages over the rate, and event names quoted back', () => {
  let server: RunningParleyServer;
  beforeAll(async () => {
    server = await startTestServer({ engine: { messageRate: 1, messageBurst: 5 } });
  });
  afterAll(() => server.close());

  it('answers each event dropped for the message rate with rate-limited, and keeps the connection', async () => {
    const client = await connectClient(server.url, { room: freshRoom() });
    clients.push(client);
    const untyped = client.socket as unknown as { emit: (event: string) => void };
    for (let i = 0; i < 20; i++) untyped.emit('shout');
    const errors = await client.waitForCount('error', 20);
    const codes = errors.map((e) => (e.args[0] as { code: string }).code);
    expect(codes).toContain('rate-limited');
    expect(codes.filter((code) => code !== 'rate-limited').every((code) => code === 'unknown-event')).toBe(true);
    expect(errors.find((e) => (e.args[0] as { code: string }).code === 'rate-limited')!.args[0]).toMatchObject({
      message: expect.stringMatching(/"shout" was dropped/),
    });
    expect(client.socket.connected).toBe(true);
  });
});

describe('unknown events', () => {
  let server: RunningParleyServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('quotes at most 64 characters of an unknown event name', async () => {
    const client = await connectClient(server.url, { room: freshRoom() });
    clients.push(client);
    const name = `${'a'.repeat(64)}${'b'.repeat(60)}`;
    (client.socket as unknown as { emit: (event: string) => void }).emit(name);
    const [payload] = (await client.next('error')).args as [{ code: string; message: string }];
    expect(payload).toEqual({ code: 'unknown-event', message: `Unknown event "${'a'.repeat(64)}…".` });
  });
});
