/**
 * Bad input from one client gets a clear error or a close of that client only: the server and a
 * call in progress in another room carry on, and none of that call's messages is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { candidateSignal, connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';

const MAX_PAYLOAD = 20_000;
let server: RunningParleyServer;
let a: TestClient;
let b: TestClient;
let sent = 0;

beforeAll(async () => {
  server = await startTestServer({ engine: { maxPayload: MAX_PAYLOAD } });
  a = await connectClient(server.url, { room: 'steady' });
  b = await connectClient(server.url, { room: 'steady', mode: 'polling' });
  await a.next('ready');
});
afterAll(() => {
  a.close();
  b.close();
  server.close();
});

/** The call in room "steady" relays a message both ways, and has lost nothing so far. */
async function callStillUp(): Promise<void> {
  sent++;
  a.socket.emit('data', candidateSignal(`a${sent}`));
  b.socket.emit('data', candidateSignal(`b${sent}`));
  const [toB, toA] = await Promise.all([b.waitForCount('data', sent), a.waitForCount('data', sent)]);
  expect(toB.map((r) => r.args[0])).toEqual(Array.from({ length: sent }, (_, i) => candidateSignal(`a${i + 1}`)));
  expect(toA.map((r) => r.args[0])).toEqual(Array.from({ length: sent }, (_, i) => candidateSignal(`b${i + 1}`)));
  expect(a.all('peer-left')).toEqual([]);
  expect(b.all('peer-left')).toEqual([]);
}

/** A raw WebSocket client that has joined room `room` (open packet read, CONNECT acknowledged). */
async function rawJoined(
  room: string,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; frames: string[] }> }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  const closed = new Promise<{ code: number; frames: string[] }>((resolve) =>
    ws.on('close', (code) => resolve({ code, frames })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const text = (data as Buffer).toString();
      frames.push(text);
      if (text.startsWith('0{')) ws.send(`40${JSON.stringify({ room })}`);
      if (text.startsWith('40{')) resolve();
    });
    ws.on('error', reject);
  });
  return { ws, closed };
}

describe('bad input closes only the client that sent it', () => {
  it.each([
    ['a malformed Socket.IO packet', '42["data",{"type":'],
    ['an unknown Socket.IO packet type', '49["data"]'],
    ['an unknown Engine.IO packet type', '9hello'],
    ['an empty frame', ''],
    ['an event whose payload is not an array', '42{"type":"offer"}'],
  ])('closes the session on %s', async (_what, frame) => {
    const raw = await rawJoined('noisy');
    raw.ws.send(frame);
    const { code } = await raw.closed;
    expect(code).toBeGreaterThanOrEqual(1000);
    await callStillUp();
  });

  it('closes a WebSocket session that sends a frame over maxPayload', async () => {
    const raw = await rawJoined('noisy');
    raw.ws.send(`42${JSON.stringify(['data', { type: 'offer', sdp: 'x'.repeat(MAX_PAYLOAD) }])}`);
    await raw.closed;
    await callStillUp();
  });

  it('refuses a polling body over maxPayload with 413 and closes that session', async () => {
    const open = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    const { sid } = JSON.parse((await open.text()).slice(1)) as { sid: string };
    const post = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      body: `4${'x'.repeat(MAX_PAYLOAD + 10)}`,
    });
    expect(post.status).toBe(413);
    await post.arrayBuffer();
    const poll = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    expect(poll.status).toBe(400);
    await poll.arrayBuffer();
    await callStillUp();
  });

  it('answers bad data from a client in the same room with an error and keeps its connection', async () => {
    const c = await connectClient(server.url, { room: 'other' });
    const d = await connectClient(server.url, { room: 'other' });
    c.socket.emit('data', 'not an object' as never);
    expect((await c.next('error')).args[0]).toMatchObject({
      code: 'bad-payload',
      message: expect.stringMatching(/expected an object/),
    });
    c.socket.emit('data', candidateSignal('fine'));
    expect((await d.next('data')).args).toEqual([candidateSignal('fine')]);
    c.close();
    d.close();
    await callStillUp();
  });

  it('refuses wrong types in the handshake with a CONNECT error, and the server carries on', async () => {
    for (const auth of [{ room: 7 }, { room: ['x'] }, { room: null }, { room: { name: 'x' } }]) {
      const c = await connectClient(server.url, { auth });
      const [message, data] = (await c.next('connect_error')).args as [string, { code: string }];
      expect(data.code).toBe('bad-room-name');
      expect(message).toMatch(/Invalid room name: expected a string/);
      c.close();
    }
    // socket.io-client coerces a non-object auth to {}; a hand-written client can still send one.
    for (const auth of ['"a string"', 'true', '["an","array"]', 'null']) {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
      const reply = await new Promise<string>((resolve, reject) => {
        ws.on('message', (data) => {
          const text = (data as Buffer).toString();
          if (text.startsWith('0{')) ws.send(`40${auth}`);
          if (text.startsWith('44')) resolve(text);
        });
        ws.on('error', reject);
      });
      ws.close();
      expect(JSON.parse(reply.slice(2))).toMatchObject({ data: { code: 'bad-handshake' } });
    }
    await callStillUp();
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });
});
