/**
 * Every per-client and per-address bound of the engine, one test each, over the wire: raw
 * WebSockets, raw HTTP (from chosen loopback source addresses) and socket.io-client. Time-based
 * limits run on xstate's SimulatedClock, so the tests advance time instead of sleeping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { EngineOptions } from '../src/signaling/engine/protocol-server.js';
import { echoNamespace, startEngine, type TestEngine } from './helpers/engine-server.js';
import { captureLog, watchConsole, type CapturedLog, type ConsoleWatch } from './helpers/log-capture.js';
import { candidateSignal, connectClient, type TestClient } from './helpers/parley.js';
import {
  delay,
  engineErrorBody,
  openRawWebSocket,
  openRawWebSocketSession,
  pollingEngineUrl,
  RawPollingClient,
  startPartialPost,
  webSocketEngineUrl,
  type HttpAnswer,
  type RawWebSocketSession,
  type WebSocketAttempt,
} from './helpers/raw-clients.js';
import { startRecordingServer, type RecordingServer } from './helpers/recording-parley.js';

/** How long a test waits for something the engine should do at once. */
const PROMPTLY_MS = 5000;

interface Running {
  readonly test: TestEngine;
  readonly namespace: ReturnType<typeof echoNamespace>;
  readonly captured: CapturedLog;
}

const engines: TestEngine[] = [];
const servers: Array<RecordingServer | TestClient> = [];
let consoleWatch: ConsoleWatch;

beforeEach(() => {
  consoleWatch = watchConsole();
});
afterEach(() => {
  consoleWatch.restore();
  for (const running of servers.splice(0)) running.close();
  for (const test of engines.splice(0)) test.stop();
  // Bad input never throws out of the engine: nothing it caught was written to the console.
  expect(consoleWatch.calls.length, consoleWatch.describe()).toBe(0);
});

/** An echo engine with `options` and a captured log. */
async function engineWith(options: EngineOptions): Promise<Running> {
  const captured = captureLog();
  const namespace = echoNamespace();
  const test = await startEngine({ log: captured.log, ...options }, { '/': namespace });
  engines.push(test);
  return { test, namespace, captured };
}

/** The close reason of `sid`, failing (instead of hanging) if the session is still open. */
function reasonOf(test: TestEngine, sid: string, timeoutMs = PROMPTLY_MS): Promise<string> {
  return Promise.race([test.closedSession(sid), delay(timeoutMs).then(() => `(still open after ${timeoutMs} ms)`)]);
}

function isOpen(test: TestEngine, sid: string): boolean {
  return !test.closed.some((c) => c.sid === sid);
}

/** A WebSocket session joined to '/' (CONNECT acknowledged). */
async function joined(test: TestEngine, localAddress?: string): Promise<RawWebSocketSession> {
  const session = await openRawWebSocketSession(test.url, localAddress === undefined ? {} : { localAddress });
  session.socket.ws.send('40');
  await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('40{'));
  return session;
}

/** The WebSocket close code, failing if the socket stays open. */
async function closeCodeOf(session: RawWebSocketSession): Promise<number | string> {
  const closed = await Promise.race([session.socket.closed, delay(PROMPTLY_MS).then(() => undefined)]);
  return closed?.code ?? '(socket still open)';
}

/** A BINARY_EVENT header for `name` announcing `count` attachments, all as arguments. */
function binaryHeader(name: string, count: number): string {
  const placeholders = Array.from({ length: count }, (_, num) => `,{"_placeholder":true,"num":${num}}`).join('');
  return `45${count}-["${name}"${placeholders}]`;
}

function textFrames(session: RawWebSocketSession): string[] {
  return session.socket.frames.filter((f): f is string => typeof f === 'string');
}

/** Expects an HTTP refusal with `status` and engine.io's JSON `{code, message}` body. */
function expectRefusal(answer: HttpAnswer | WebSocketAttempt, status: number): void {
  const http = 'status' in answer ? answer : answer.opened ? undefined : answer.refusal;
  expect(http?.status, http === undefined ? 'the WebSocket was accepted' : http.body).toBe(status);
  expect(engineErrorBody(http!), `body ${http!.body}`).toEqual({
    code: expect.any(Number),
    message: expect.any(String),
  });
}

function expectOpened(attempt: WebSocketAttempt): RawWebSocketSession['socket'] {
  if (!attempt.opened) throw new Error(`refused: HTTP ${attempt.refusal.status} ${attempt.refusal.body}`);
  return attempt.socket;
}

describe('binary attachments', () => {
  it('accepts maxAttachments attachments and closes a header announcing more with "limit exceeded" (1008)', async () => {
    const { test, namespace } = await engineWith({ maxAttachments: 3 });
    const session = await joined(test);
    session.socket.ws.send(binaryHeader('message', 3));
    for (let i = 0; i < 3; i++) session.socket.ws.send(Buffer.from([i]));
    await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('453-["message-back"'));

    session.socket.ws.send(binaryHeader('message', 4));
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(namespace.events).toHaveLength(1);
  });

  it('closes a packet whose attachments sum over maxAttachmentBytes with "limit exceeded"', async () => {
    const { test, namespace } = await engineWith({ maxAttachmentBytes: 1000 });
    const session = await joined(test);
    session.socket.ws.send(binaryHeader('message', 2));
    session.socket.ws.send(Buffer.alloc(500, 1));
    session.socket.ws.send(Buffer.alloc(500, 2));
    await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('452-["message-back"'));

    session.socket.ws.send(binaryHeader('message', 2));
    session.socket.ws.send(Buffer.alloc(600, 1));
    session.socket.ws.send(Buffer.alloc(600, 2));
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(namespace.events).toHaveLength(1);
  });

  it('closes a packet whose attachments have not all arrived within attachmentTimeout with "limit exceeded"', async () => {
    const clock = new SimulatedClock();
    const { test, namespace } = await engineWith({ clock, attachmentTimeout: 5000 });
    const session = await joined(test);
    session.socket.ws.send(binaryHeader('message', 2));
    session.socket.ws.send(Buffer.alloc(10, 1));
    expect(await session.socket.roundTrip()).toBe(true);

    clock.increment(4999);
    expect(await session.socket.roundTrip()).toBe(true);
    expect(isOpen(test, session.sid)).toBe(true);
    clock.increment(1);
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(namespace.events).toHaveLength(0);
  });
});

describe('POST bodies', () => {
  it('answers 503 to a POST beyond maxConcurrentBodies bodies in flight, and takes POSTs again once they are done', async () => {
    const { test } = await engineWith({ maxConcurrentBodies: 2 });
    const clients = [new RawPollingClient(test.url), new RawPollingClient(test.url), new RawPollingClient(test.url)];
    for (const client of clients) expect((await client.handshake()).status).toBe(200);
    const slowBody = `40\x1e42["message","${'x'.repeat(200)}"]`;
    const first = startPartialPost(pollingEngineUrl(test.url, clients[0].sid), slowBody, 10);
    const second = startPartialPost(pollingEngineUrl(test.url, clients[1].sid), slowBody, 10);
    await delay(200); // for the server to read both requests' heads

    const third = await clients[2].post('40');
    expectRefusal(third, 503);

    first.finish();
    second.finish();
    expect((await first.answer).status).toBe(200);
    expect((await second.answer).status).toBe(200);
    expect((await clients[2].post('40')).status).toBe(200);
  });

  it('answers 408 to a body not complete within bodyTimeout and closes that session with "limit exceeded"', async () => {
    const clock = new SimulatedClock();
    const { test } = await engineWith({ clock, bodyTimeout: 5000 });
    const client = new RawPollingClient(test.url);
    expect((await client.handshake()).status).toBe(200);
    const post = startPartialPost(pollingEngineUrl(test.url, client.sid), '42["message","never finished"]', 5);
    await delay(200); // for the server to read the request's head

    clock.increment(4999);
    await delay(100);
    expect(post.answered()).toBe(false);
    clock.increment(1);
    const answer = await Promise.race([post.answer, delay(PROMPTLY_MS).then(() => undefined)]);
    expect(answer?.status, 'the POST got no answer').toBe(408);
    expect(await reasonOf(test, client.sid)).toBe('limit exceeded');
    post.abort();
  });

  it('answers 413 to a body over maxPayload and closes a WebSocket with a frame over it', async () => {
    const { test } = await engineWith({ maxPayload: 2000 });
    const client = new RawPollingClient(test.url);
    await client.handshake();
    expect((await client.post(`42["message","${'x'.repeat(3000)}"]`)).status).toBe(413);
    expect(await reasonOf(test, client.sid)).toBe('payload too large');

    const session = await joined(test);
    session.socket.ws.send(`42["message","${'x'.repeat(3000)}"]`);
    expect(await reasonOf(test, session.sid)).toBe('payload too large');
    // uWS itself cuts a frame over maxPayloadLength, without a close frame (1006) so far.
    expect([1009, 1006]).toContain(await closeCodeOf(session));
  });
});

describe('packet contents', () => {
  it('takes an event name of maxEventNameLength characters and closes one longer with "limit exceeded"', async () => {
    const { test, namespace } = await engineWith({ maxEventNameLength: 16 });
    const session = await joined(test);
    session.socket.ws.send(`42["${'m'.repeat(16)}"]`);
    expect(await session.socket.roundTrip()).toBe(true);
    expect(namespace.events.map((e) => e.name)).toEqual(['m'.repeat(16)]);

    session.socket.ws.send(`42["${'n'.repeat(17)}"]`);
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(namespace.events.map((e) => e.name)).toEqual(['m'.repeat(16)]);
  });

  it('never echoes an over-long event name back: the signaling app answers 128 characters with unknown-event, 129 closes', async () => {
    const server = await startRecordingServer();
    servers.push(server);
    const session = await openRawWebSocketSession(server.url);
    session.socket.ws.send('40{"room":"names"}');
    await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('40{'));
    const fine = 'f'.repeat(128);
    session.socket.ws.send(`42["${fine}"]`);
    const error = await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('42["error"'));
    expect(JSON.parse((error as string).slice(2))).toMatchObject(['error', { code: 'unknown-event' }]);

    const long = 'L'.repeat(129);
    session.socket.ws.send(`42["${long}"]`);
    expect(await Promise.race([server.closedSession(session.sid), delay(PROMPTLY_MS)])).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(textFrames(session).filter((f) => f.includes(long))).toEqual([]);
  });

  it('answers an ack id of exactly 2^31 - 1 (maxAckId)', async () => {
    const { test } = await engineWith({});
    const session = await joined(test);
    session.socket.ws.send('422147483647["message-with-ack","x"]');
    expect(await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('43'))).toBe(
      '432147483647["x"]',
    );
  });

  it.each([
    ['an ack id of 2^31 (above maxAckId)', '422147483648["message-with-ack","x"]'],
    ['a 22-digit ack id', '4299999999999999999999["message-with-ack","x"]'],
    ['a 400-digit ack id', `42${'9'.repeat(400)}["message-with-ack","x"]`],
    ['an ACK with a 22-digit id', '4399999999999999999999[]'],
    ['an ACK with id Infinity', '43Infinity[]'],
    ['a negative ack id', '42-1["message-with-ack","x"]'],
    ['a fractional ack id', '4212.5["message-with-ack","x"]'],
  ])('closes %s with "parse error" (1002) and never answers it', async (_what, frame) => {
    const { test } = await engineWith({});
    const session = await joined(test);
    session.socket.ws.send(frame);
    expect(await reasonOf(test, session.sid)).toBe('parse error');
    expect(await closeCodeOf(session)).toBe(1002);
    expect(textFrames(session).filter((f) => f.startsWith('43'))).toEqual([]);
  });

  it('echoes arguments nested within maxDepth and closes deeper ones with "limit exceeded"', async () => {
    const { test, namespace } = await engineWith({ maxDepth: 8 });
    const session = await joined(test);
    const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    session.socket.ws.send(`42["message",${nested(6)}]`);
    await session.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('42["message-back"'));

    session.socket.ws.send(`42["message",${nested(10)}]`);
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(await closeCodeOf(session)).toBe(1008);
    expect(namespace.events).toHaveLength(1);
  });

  it('closes arguments nested 100,000 deep with "limit exceeded" (default maxDepth), without a stack overflow', async () => {
    const { test, namespace } = await engineWith({});
    const session = await joined(test);
    const depth = 100_000;
    session.socket.ws.send(`42["message",${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]`);
    expect(await reasonOf(test, session.sid)).toBe('limit exceeded');
    expect(namespace.events).toHaveLength(0);
  });
});

describe('per address and server-wide', () => {
  it('refuses a handshake beyond maxSessionsPerAddress open sessions with 429 (polling and WebSocket); other addresses are unaffected', async () => {
    const { test } = await engineWith({ clock: new SimulatedClock(), maxSessionsPerAddress: 3 });
    const from = { localAddress: '127.0.0.2' };
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);
    const third = await openRawWebSocketSession(test.url, from);

    expectRefusal(await new RawPollingClient(test.url, from).handshake(), 429);
    expectRefusal(await openRawWebSocket(webSocketEngineUrl(test.url), from), 429);

    const other = { localAddress: '127.0.0.3' };
    expect((await new RawPollingClient(test.url, other).handshake()).status).toBe(200);
    expectOpened(await openRawWebSocket(webSocketEngineUrl(test.url), other)).ws.close();

    // A session that ends frees its place.
    third.socket.ws.close();
    await reasonOf(test, third.sid);
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);
  });

  it('refuses beyond maxConnectionsPerAddress WebSockets plus pending long-polls with 429; other addresses are unaffected', async () => {
    const { test } = await engineWith({ clock: new SimulatedClock(), maxConnectionsPerAddress: 3 });
    const from = { localAddress: '127.0.0.4' };
    const pollers = [new RawPollingClient(test.url, from), new RawPollingClient(test.url, from)];
    for (const poller of pollers) expect((await poller.handshake()).status).toBe(200);
    const first = await openRawWebSocketSession(test.url, from);
    await openRawWebSocketSession(test.url, from);
    const pending = pollers[0].get(); // nothing to send: it waits, holding a connection
    await delay(100);

    expectRefusal(await openRawWebSocket(webSocketEngineUrl(test.url), from), 429);
    expectRefusal(await pollers[1].get(), 429);
    expectOpened(await openRawWebSocket(webSocketEngineUrl(test.url), { localAddress: '127.0.0.5' })).ws.close();

    first.socket.ws.close();
    await reasonOf(test, first.sid);
    expectOpened(await openRawWebSocket(webSocketEngineUrl(test.url), from)).ws.close();
    void pending.catch(() => {});
  });

  it('refuses a WebSocket beyond maxConnections server-wide with 503', async () => {
    const { test } = await engineWith({ clock: new SimulatedClock(), maxConnections: 4 });
    const sessions = [];
    for (const localAddress of ['127.0.0.6', '127.0.0.6', '127.0.0.7', '127.0.0.7']) {
      sessions.push(await openRawWebSocketSession(test.url, { localAddress }));
    }
    expectRefusal(await openRawWebSocket(webSocketEngineUrl(test.url), { localAddress: '127.0.0.8' }), 503);

    sessions[0].socket.ws.close();
    await reasonOf(test, sessions[0].sid);
    expectOpened(await openRawWebSocket(webSocketEngineUrl(test.url), { localAddress: '127.0.0.8' })).ws.close();
  });

  it('refuses handshakes beyond handshakeBurst from one address with 429 until handshakeRate refills', async () => {
    const clock = new SimulatedClock();
    const { test } = await engineWith({ clock, handshakeBurst: 3, handshakeRate: 1 });
    const from = { localAddress: '127.0.0.9' };
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);
    expectOpened(await openRawWebSocket(webSocketEngineUrl(test.url), from));
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);

    expectRefusal(await openRawWebSocket(webSocketEngineUrl(test.url), from), 429);
    expectRefusal(await new RawPollingClient(test.url, from).handshake(), 429);
    expect((await new RawPollingClient(test.url, { localAddress: '127.0.0.10' }).handshake()).status).toBe(200);

    clock.increment(1000);
    expect((await new RawPollingClient(test.url, from).handshake()).status).toBe(200);
    expectRefusal(await new RawPollingClient(test.url, from).handshake(), 429);
  });
});

describe('message rate', () => {
  it('drops EVENTs beyond messageBurst (CONNECT takes a token too), tells the handler, and refills at messageRate', async () => {
    const clock = new SimulatedClock();
    const { test, namespace } = await engineWith({ clock, messageBurst: 5, messageRate: 1 });
    const session = await joined(test);
    for (let i = 0; i < 6; i++) session.socket.ws.send(`42["message",${i}]`);
    expect(await session.socket.roundTrip()).toBe(true);
    const echoed = () => textFrames(session).filter((f) => f.startsWith('42["message-back"'));
    expect(echoed()).toEqual([0, 1, 2, 3].map((i) => `42["message-back",${i}]`));
    expect(namespace.rateLimitedEvents.map((e) => e.name)).toEqual(['message', 'message']);
    expect(isOpen(test, session.sid)).toBe(true);

    clock.increment(1000);
    session.socket.ws.send('42["message",6]');
    session.socket.ws.send('42["message",7]');
    expect(await session.socket.roundTrip()).toBe(true);
    expect(echoed().slice(4)).toEqual(['42["message-back",6]']);
    expect(namespace.rateLimitedEvents).toHaveLength(3);
  });

  it('the signaling app answers a dropped data event with error rate-limited, and relays within the rate', async () => {
    const clock = new SimulatedClock();
    const server = await startRecordingServer({ clock, messageBurst: 3, messageRate: 1 });
    servers.push(server);
    const a = await connectClient(server.url, { room: 'rated' });
    servers.push(a);
    const b = await connectClient(server.url, { room: 'rated' });
    servers.push(b);
    await a.next('ready');
    for (let i = 1; i <= 3; i++) a.socket.emit('data', candidateSignal(`r${i}`));
    const error = await a.next('error');
    expect(error.args[0]).toEqual({ code: 'rate-limited', message: expect.any(String) });
    expect((await b.waitForCount('data', 2)).map((r) => r.args[0])).toEqual([
      candidateSignal('r1'),
      candidateSignal('r2'),
    ]);
    expect(a.all('disconnect')).toEqual([]);
  });

  it('closes a client with "rate limited" (1008) once more than maxDroppedMessages were dropped within 10 s', async () => {
    const clock = new SimulatedClock();
    const { test, namespace } = await engineWith({ clock, messageBurst: 1, messageRate: 1, maxDroppedMessages: 5 });
    const session = await joined(test); // the CONNECT takes the only token
    for (let i = 0; i < 5; i++) session.socket.ws.send(`42["message",${i}]`);
    expect(await session.socket.roundTrip()).toBe(true);
    expect(namespace.rateLimitedEvents).toHaveLength(5);
    expect(isOpen(test, session.sid)).toBe(true);

    // Drops older than 10 s no longer count.
    clock.increment(10_001);
    session.socket.ws.send('42["message","refilled"]');
    for (let i = 0; i < 5; i++) session.socket.ws.send(`42["message",${i}]`);
    expect(await session.socket.roundTrip()).toBe(true);
    expect(textFrames(session)).toContain('42["message-back","refilled"]');
    expect(isOpen(test, session.sid)).toBe(true);

    session.socket.ws.send('42["message","one too many"]');
    expect(await reasonOf(test, session.sid)).toBe('rate limited');
    expect(await closeCodeOf(session)).toBe(1008);
  });
});

describe('bad input is logged once per client, structured, without stacks', () => {
  it('closes the two-byte frame "42" with "parse error" (1002) and one warn line { sid, address, reason }', async () => {
    const { test, captured } = await engineWith({});
    const session = await joined(test);
    session.socket.ws.send('42');
    expect(await reasonOf(test, session.sid)).toBe('parse error');
    expect(await closeCodeOf(session)).toBe(1002);
    const lines = captured.warningsFor(session.sid);
    expect(lines).toHaveLength(1);
    expect(lines[0].fields).toMatchObject({ sid: session.sid, address: expect.any(String), reason: 'parse error' });
    expect(captured.linesWithStacks()).toEqual([]);
  });

  it('closes a polling POST of "42" with "parse error" and one warn line', async () => {
    const { test, captured } = await engineWith({});
    const client = new RawPollingClient(test.url);
    await client.handshake();
    await client.post('40');
    await client.post('42');
    expect(await reasonOf(test, client.sid)).toBe('parse error');
    expect(captured.warningsFor(client.sid)).toHaveLength(1);
    expect(captured.linesWithStacks()).toEqual([]);
  });

  it.each([
    ['an empty message while attachments are due', '40\x1e451-["message",{"_placeholder":true,"num":0}]\x1e4'],
    ['an empty message after an ACK header', '40\x1e461-1[{"_placeholder":true,"num":0}]\x1e4'],
    [
      'an empty base64 attachment, then an empty message',
      '40\x1e452-["message",{"_placeholder":true,"num":0}]\x1eb\x1e4',
    ],
  ])('polling: %s closes with "parse error" and throws nothing (found by the fuzz)', async (_what, body) => {
    const escaped: unknown[] = [];
    const onEscaped = (error: unknown): void => void escaped.push(error);
    process.on('uncaughtException', onEscaped);
    try {
      const { test } = await engineWith({});
      const client = new RawPollingClient(test.url);
      await client.handshake();
      await client.postBody(body);
      expect(await reasonOf(test, client.sid)).toBe('parse error');
      await delay(20);
      expect(escaped.map(String)).toEqual([]);
    } finally {
      process.off('uncaughtException', onEscaped);
    }
  });

  it('a flood of 60 bad clients writes a bounded number of lines and counts the rest as suppressed', async () => {
    const clock = new SimulatedClock();
    const { test, captured } = await engineWith({ clock, handshakeBurst: 1000, handshakeRate: 1000 });
    const flood = 60;
    for (let i = 0; i < flood; i++) {
      const session = await openRawWebSocketSession(test.url);
      session.socket.ws.send('x');
      await reasonOf(test, session.sid);
    }
    const linesDuringFlood = captured.lines.filter((l) => l.fields['sid'] !== undefined).length;
    expect(linesDuringFlood).toBeGreaterThan(0);
    expect(linesDuringFlood).toBeLessThanOrEqual(10);

    // A second later the next bad client is logged, and the suppressed lines are accounted for.
    clock.increment(2000);
    const last = await openRawWebSocketSession(test.url);
    last.socket.ws.send('x');
    await reasonOf(test, last.sid);
    await delay(50);
    const clientLines = captured.lines.filter((l) => l.fields['sid'] !== undefined).length;
    expect(captured.warningsFor(last.sid)).toHaveLength(1);
    expect(clientLines + captured.suppressedTotal()).toBeGreaterThanOrEqual(flood + 1);
    expect(captured.linesWithStacks()).toEqual([]);
  });
});

describe('close codes', () => {
  it('closes WebSockets with 1001 when the server shuts down', async () => {
    const { test } = await engineWith({});
    const session = await joined(test);
    engines.splice(engines.indexOf(test), 1);
    test.stop();
    expect(await closeCodeOf(session)).toBe(1001);
    expect(await reasonOf(test, session.sid)).toBe('server shutting down');
  });
});
