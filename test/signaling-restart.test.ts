/**
 * Resume after a restart, with real socket.io-clients and two server instances on one port: the
 * first drains as on SIGTERM, the second starts with the same resume secret, and each client
 * reconnects by itself with the token it kept (keepResumeToken, as the browser adapter does).
 * The room re-forms around the two identities in their old roles, with nothing that would make
 * either side renegotiate. The browser version is test/app-recovery.e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { candidateSignal, connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { keepResumeToken } from '../src/client/signaling-client.js';
import { roomKey } from '../src/signaling/room-registry.js';
import { ResumeTokens } from '../src/signaling/resume-token.js';

const RESUME_SECRET = 'the same secret in both processes';

const servers: RunningParleyServer[] = [];
const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) server.close();
});

async function start(port = 0, holdWindowMs?: number): Promise<RunningParleyServer> {
  const server = await startTestServer({
    port,
    resumeSecret: RESUME_SECRET,
    ...(holdWindowMs === undefined
      ? {}
      : { engine: { connectionStateRecovery: { maxDisconnectionDuration: holdWindowMs } } }),
  });
  servers.push(server);
  return server;
}

/** A client that reconnects by itself, quickly, and keeps its resume token. */
async function join(server: RunningParleyServer, room: string): Promise<TestClient> {
  const client = await connectClient(server.url, { room });
  clients.push(client);
  client.socket.io.reconnection(true);
  client.socket.io.reconnectionDelay(50);
  client.socket.io.reconnectionDelayMax(200);
  keepResumeToken(client.socket);
  // The first token may have come before keepResumeToken listened (the adapter listens at once).
  const { token } = (await client.next('resume-token')).args[0] as { token: string };
  if (client.all('resume-token').length === 1) client.socket.auth = { room, resume: token };
  return client;
}

/** Two peers in a call, each holding the token that names the other. */
async function call(server: RunningParleyServer, room: string) {
  const a = await join(server, room);
  const b = await join(server, room);
  await a.next('ready');
  await a.waitForCount('resume-token', 2);
  return { a, b };
}

/** SIGTERM's drain, then a new server on the same port. */
async function restart(server: RunningParleyServer, holdWindowMs?: number): Promise<RunningParleyServer> {
  await server.drain(100);
  server.close();
  servers.splice(servers.indexOf(server), 1);
  return start(server.port, holdWindowMs);
}

const connects = (client: TestClient) => client.all('connect').length;

describe('a restart of the signaling server', () => {
  it('re-forms the room around both peers in their old roles, with no ready and no peer-left', async () => {
    const first = await start();
    const room = 'restart-both';
    const { a, b } = await call(first, room);
    const identities = first.signaling.rooms.view(room)!.peers.map((peer) => peer.id);

    const second = await restart(first);
    await a.waitForCount('connect', 2);
    await b.waitForCount('connect', 2);
    expect(a.all('role').map((r) => r.args[0])).toEqual([
      { room, role: 'impolite' },
      { room, role: 'impolite', resumed: true },
    ]);
    expect(b.all('role').map((r) => r.args[0])).toEqual([
      { room, role: 'polite' },
      { room, role: 'polite', resumed: true },
    ]);
    await expect.poll(() => second.signaling.rooms.view(room)).toMatchObject({ state: 'ready', held: false });
    expect(second.signaling.rooms.view(room)!.peers.map((peer) => peer.id)).toEqual(expect.arrayContaining(identities));
    // Nothing that restarts negotiation: one ready (the first call's), no peer-left anywhere.
    expect(a.all('ready')).toHaveLength(1);
    expect(b.all('ready')).toHaveLength(0);
    expect([...a.all('peer-left'), ...b.all('peer-left')]).toEqual([]);

    // Later signaling works both ways, in the same room.
    a.socket.emit('data', candidateSignal('after-restart'));
    expect((await b.next('data')).args[0]).toEqual(candidateSignal('after-restart'));
    b.socket.emit('data', { type: 'offer', sdp: 'ice restart' });
    expect((await a.next('data')).args[0]).toEqual({ type: 'offer', sdp: 'ice restart' });
    expect([...a.all('error'), ...b.all('error')]).toEqual([]);
  });

  it('survives restarts again and again', async () => {
    let server = await start();
    const room = 'restart-again';
    const { a, b } = await call(server, room);
    for (let round = 1; round <= 3; round++) {
      server = await restart(server);
      await a.waitForCount('connect', round + 1);
      await b.waitForCount('connect', round + 1);
      await expect.poll(() => server.signaling.rooms.view(room)).toMatchObject({ state: 'ready', held: false });
      a.socket.emit('data', candidateSignal(`round-${round}`));
      await b.waitForCount('data', round);
    }
    expect([...a.all('peer-left'), ...b.all('peer-left'), ...b.all('ready')]).toEqual([]);
  });

  it('tells the peer still on the draining server nothing when the other is closed first', async () => {
    const first = await start();
    const { a, b } = await call(first, 'restart-drain');
    // Sessions close one after the other over the drain's spread.
    await first.drain(400);
    expect([...a.all('peer-left'), ...b.all('peer-left')]).toEqual([]);
  });

  it('holds the seat of a peer that does not come back for the window, then the returner waits alone', async () => {
    const first = await start();
    const room = 'restart-alone';
    const { a, b } = await call(first, room);
    b.socket.io.reconnection(false);

    const second = await restart(first, 1_000);
    await a.waitForCount('connect', 2);
    expect(a.all('role').at(-1)!.args[0]).toEqual({ room, role: 'impolite', resumed: true });
    expect(second.signaling.rooms.view(room)).toMatchObject({ state: 'ready', held: true });
    expect(second.signaling.rooms.view(room)!.peers.map((peer) => peer.presence)).toEqual(['here', 'expected']);

    // Meanwhile the seat is not for anyone else.
    const c = await connectClient(second.url, { room });
    clients.push(c);
    expect((await c.next('connect_error')).args[1]).toMatchObject({ code: 'room-full' });
    // Nothing can be relayed to a seat nobody holds yet.
    a.socket.emit('data', candidateSignal('nobody'));
    expect((await a.next('error')).args[0]).toMatchObject({ code: 'no-peer' });

    await a.next('peer-left', { timeoutMs: 10_000 });
    expect(second.signaling.rooms.view(room)).toMatchObject({ state: 'waiting', held: false });
    // A newcomer now gets the seat, and the returner (the one that waited) offers.
    const d = await join(second, room);
    expect(d.all('role')[0].args[0]).toEqual({ room, role: 'polite' });
    await a.waitForCount('ready', 2);
    expect(b.all('connect')).toHaveLength(1);
  });

  it('gives the seat back to the late peer when it returns within the window', async () => {
    const first = await start();
    const room = 'restart-late';
    const { a, b } = await call(first, room);
    b.socket.io.reconnection(false);
    const second = await restart(first, 10_000);
    await a.waitForCount('connect', 2);
    expect(second.signaling.rooms.view(room)?.held).toBe(true);
    b.socket.connect();
    await b.waitForCount('connect', 2);
    expect(b.all('role').at(-1)!.args[0]).toEqual({ room, role: 'polite', resumed: true });
    await expect.poll(() => second.signaling.rooms.view(room)).toMatchObject({ state: 'ready', held: false });
    b.socket.emit('data', candidateSignal('late'));
    expect((await a.next('data')).args[0]).toEqual(candidateSignal('late'));
    expect([...a.all('peer-left'), ...b.all('peer-left')]).toEqual([]);
  });

  /**
   * `token` with one character of its signature changed: the last but one, whose six bits all
   * count (the last one of a base64url signature carries padding bits a decoder ignores, so
   * setting the last two to "AA" left a valid token one run in about a thousand).
   */
  const altered = (token: string): string => {
    const at = token.length - 2;
    return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  };

  it('ignores a token that does not verify: another room, another secret, altered or expired (a fresh join)', async () => {
    const server = await start();
    const room = 'restart-forged';
    const peerId = 'AAAAAAAAAAAAAAAAAAAA';
    const key = roomKey(room, undefined);
    const now = Date.now();
    const forged = [
      new ResumeTokens(RESUME_SECRET).issue(roomKey('elsewhere', undefined), {
        peerId,
        role: 'polite',
        partnerId: undefined,
      }),
      new ResumeTokens('another secret, not this server').issue(key, { peerId, role: 'polite', partnerId: undefined }),
      new ResumeTokens(RESUME_SECRET, { now: () => now - 2 * 86_400_000 }).issue(key, {
        peerId,
        role: 'polite',
        partnerId: undefined,
      }),
      altered(new ResumeTokens(RESUME_SECRET).issue(key, { peerId, role: 'polite', partnerId: undefined })),
    ];
    for (const resume of forged) {
      const client = await connectClient(server.url, { auth: { room, resume } });
      clients.push(client);
      expect((await client.next('role')).args[0]).toEqual({ room, role: 'impolite' });
      expect(server.signaling.peerIdOf(client.socket.id!)).toBe(client.socket.id);
      client.close();
      await expect.poll(() => server.signaling.rooms.view(room)).toBeUndefined();
    }
    const bad = await connectClient(server.url, { auth: { room, resume: 42 } });
    clients.push(bad);
    expect((await bad.next('connect_error')).args[1]).toMatchObject({ code: 'bad-handshake' });
  });

  it('takes a token for a seat still held in this process over from the old connection', async () => {
    const server = await start();
    const room = 'restart-takeover';
    const { a, b } = await call(server, room);
    const token = (b.all('resume-token').at(-1)!.args[0] as { token: string }).token;
    const twin = await connectClient(server.url, { auth: { room, resume: token } });
    clients.push(twin);
    expect((await twin.next('role')).args[0]).toEqual({ room, role: 'polite', resumed: true });
    // The old connection is closed by the server; the other peer hears nothing of it.
    await b.next('disconnect');
    twin.socket.emit('data', candidateSignal('twin'));
    expect((await a.next('data')).args[0]).toEqual(candidateSignal('twin'));
    expect(a.all('peer-left')).toEqual([]);
    expect(connects(a)).toBe(1);
  });
});
