import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echoNamespace,
  openPollingSession,
  openWebSocketSession,
  poll,
  post,
  startEngine,
  type TestEngine,
} from './helpers/engine-server.js';

let test: TestEngine;
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000, maxPayload: 2000 }, { '/': echoNamespace() });
});
afterAll(() => test.stop());

/** A connected bystander whose session must survive every bad client. */
async function bystander() {
  const session = await openWebSocketSession(test);
  session.reader.ws.send('40');
  await session.reader.next();
  return session;
}

async function stillWorks(session: Awaited<ReturnType<typeof bystander>>): Promise<void> {
  session.reader.ws.send('42["message","still here"]');
  expect(await session.reader.nextNonPing()).toBe('42["message-back","still here"]');
  expect(test.closed.some((c) => c.sid === session.sid)).toBe(false);
}

describe('bad input closes only the session that sent it', () => {
  it.each([
    ['an unknown engine.io packet type', 'x'],
    ['an unknown socket.io packet type', '4abc'],
    ['an event payload that is not an array', '42{}'],
    ['an invalid ack id', '42abc["message"]'],
    ['broken JSON', '42["message",'],
    ['an attachment nobody announced', null],
  ])('WebSocket: %s → "parse error"', async (_what, frame) => {
    const other = await bystander();
    const bad = await bystander();
    if (frame === null) bad.reader.ws.send(Buffer.from([1, 2, 3]));
    else bad.reader.ws.send(frame);
    expect(await test.closedSession(bad.sid)).toBe('parse error');
    expect((await bad.reader.closed).code).toBe(1002);
    await stillWorks(other);
    other.reader.ws.close();
  });

  it('WebSocket: a frame over maxPayload closes that session with "payload too large"', async () => {
    const other = await bystander();
    const bad = await bystander();
    bad.reader.ws.send(`42["message","${'x'.repeat(3000)}"]`);
    expect(await test.closedSession(bad.sid)).toBe('payload too large');
    await bad.reader.closed;
    await stillWorks(other);
    other.reader.ws.close();
  });

  it('polling: a POST over maxPayload gets 413 and closes that session', async () => {
    const other = await bystander();
    const { sid } = await openPollingSession(test);
    const response = await post(test, sid, `42["message","${'x'.repeat(3000)}"]`);
    expect(response.status).toBe(413);
    expect(await test.closedSession(sid)).toBe('payload too large');
    expect((await poll(test, sid)).status).toBe(400);
    await stillWorks(other);
    other.reader.ws.close();
  });

  it('polling: a malformed payload closes that session with "parse error"', async () => {
    const { sid } = await openPollingSession(test);
    await post(test, sid, '40');
    await poll(test, sid);
    await post(test, sid, '42{}');
    expect(await test.closedSession(sid)).toBe('parse error');
  });

  it('a client that floods binary without a header, then text mid-attachment, is closed', async () => {
    const bad = await bystander();
    bad.reader.ws.send('451-["message",{"_placeholder":true,"num":0}]');
    bad.reader.ws.send('42["message","too early"]');
    expect(await test.closedSession(bad.sid)).toBe('parse error');
  });
});
